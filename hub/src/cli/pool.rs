//! `sajja-hub pool`: pooled funds' policies and the hub's obligations.

use crate::cli::args::*;
use crate::cli::shared::*;
use anyhow::bail;
use sajja_common::PoolId;
use sajja_common::admin::AdminBody;
use sajja_hub::ingest::accept::Ingest;
use sajja_hub::ingest::admin;
use sajja_hub::ingest::admin::HubIdentity;

pub(crate) fn pool(command: PoolCommand) -> anyhow::Result<()> {
    let money = |text: &str| sajja_common::Money::parse_baht(text);
    let (config, body) = match command {
        PoolCommand::Policy {
            config,
            pool,
            min_ratio,
        } => {
            if min_ratio > 1_000 {
                bail!("--min-ratio {min_ratio}% is not plausible");
            }
            let pool = PoolId::parse(&pool)?;
            (
                config,
                AdminBody::PoolPolicySet {
                    pool,
                    min_reserve_ratio_basis_points: min_ratio * 100,
                },
            )
        }
        PoolCommand::IssueCurrency {
            config,
            pool,
            amount,
        } => (
            config,
            AdminBody::CurrencyIssued {
                pool: PoolId::parse(&pool)?,
                amount: money(&amount)?,
            },
        ),
        PoolCommand::RedeemCurrency {
            config,
            pool,
            amount,
        } => (
            config,
            AdminBody::CurrencyRedeemed {
                pool: PoolId::parse(&pool)?,
                amount: money(&amount)?,
            },
        ),
        PoolCommand::Guarantee {
            config,
            pool,
            id,
            group,
            lender,
            amount,
        } => (
            config,
            AdminBody::GuaranteeGiven {
                pool: PoolId::parse(&pool)?,
                guarantee: id,
                beneficiary: parse_group(&group)?,
                lender,
                amount: money(&amount)?,
            },
        ),
        PoolCommand::Release { config, pool, id } => (
            config,
            AdminBody::GuaranteeReleased {
                pool: PoolId::parse(&pool)?,
                guarantee: id,
            },
        ),
    };
    let config = load(&config)?;
    let identity = HubIdentity::load(&config)?;
    let mut ingest = Ingest::new(open_store(&config)?);
    let kind = body.kind();
    let seq = admin::append(&mut ingest, &identity, vec![body])?;
    println!("recorded {kind} in hub log {} at seq {seq}", identity.log());
    Ok(())
}
