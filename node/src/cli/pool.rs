//! `pool`: network pooled funds and the guarantee reserve.

use std::path::Path;

use sajja_node::compose::{self, PoolMove as Direction};

use super::args::PoolCommand;
use super::shared::{append, open};

pub fn pool(data_dir: &Path, command: PoolCommand) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let (direction, movement) = match command {
        PoolCommand::Draw {
            movement,
            exchange,
            exchange_seq,
        } => {
            if !exchange.is_exchange_log() {
                return Err(super::shared::usage(format!(
                    "{exchange} is not an exchange's log id: give the exchange's, e.g. 230101-X01"
                )));
            }
            let body = compose::reserve_draw(
                movement.pool,
                movement.amount,
                movement.posting.channel(),
                exchange,
                exchange_seq,
            );
            return append(&mut store, movement.posting.date(), body);
        }
        PoolCommand::Deposit(m) => (Direction::Deposit, m),
        PoolCommand::Withdraw(m) => (Direction::Withdraw, m),
        PoolCommand::Pledge(m) => (Direction::Pledge, m),
        PoolCommand::Release(m) => (Direction::Release, m),
        PoolCommand::Borrow(m) => (Direction::Borrow, m),
        PoolCommand::Repay { movement, interest } => (Direction::Repay { interest }, movement),
    };
    let body = compose::pool_move(
        direction,
        movement.pool,
        movement.amount,
        movement.posting.channel(),
    );
    append(&mut store, movement.posting.date(), body)
}
