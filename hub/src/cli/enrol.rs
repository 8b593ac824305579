//! `sajja-hub init` and `sajja-hub enrol`: a new hub, and the bundles and codes it issues.

use std::path::{Path, PathBuf};

use crate::cli::args::*;
use crate::cli::shared::*;
use anyhow::{Context, bail};
use sajja_hub::config::HubConfig;
use sajja_hub::ingest::accept::Ingest;
use sajja_hub::ingest::operations;
use sajja_hub::pki::certs as tls;

/// Makes (or resets) a dashboard account and prints its one-time code.
pub(crate) fn dashboard_code(
    config: &HubConfig,
    name: &str,
    role: sajja_hub::web::accounts::WebRole,
    scope: &str,
) -> anyhow::Result<()> {
    let accounts = sajja_hub::web::accounts::Accounts::open(&config.web_users_path())?;
    let code = accounts.issue_code(name, role, scope)?;
    let at = std::fs::read_to_string(config.web_addr_file())
        .map(|a| a.trim().to_string())
        .ok()
        .or_else(|| config.web.listen.map(|l| format!("http://{l}")));
    println!(
        "dashboard account {name} ({}, scope {scope}): one-time code {code}, valid {} days",
        role.name(),
        sajja_hub::web::accounts::CODE_SECONDS / 86_400
    );
    match at {
        Some(url) => println!("  set a password at {url}/welcome"),
        None => println!("  the dashboard is off: set [web] listen in the hub's config"),
    }
    Ok(())
}

pub(crate) fn enrol(what: EnrolCommand) -> anyhow::Result<()> {
    use sajja_hub::web::accounts::WebRole;
    // Agencies and researchers have the dashboard only: no bundle.
    let web_only = |role: WebRole, name: &str, scope: &str, config: &Path| {
        let config = load(config)?;
        operations::principal("coordinator", name, Some(scope))?;
        dashboard_code(&config, name, role, scope)
    };
    let (principal, public_key, opts) = match what {
        EnrolCommand::Group { group, key, opts } => {
            let key = operations::parse_group_key(&key).context("--key")?;
            (
                operations::principal("group", &group, None)?,
                Some(key),
                opts,
            )
        }
        EnrolCommand::Hub { hub, opts } => (operations::principal("hub", &hub, None)?, None, opts),
        EnrolCommand::Coordinator { name, scope, opts } => (
            operations::principal("coordinator", &name, Some(&scope))?,
            None,
            opts,
        ),
        EnrolCommand::Operator { name, opts } => {
            (operations::principal("operator", &name, None)?, None, opts)
        }
        EnrolCommand::Agency {
            name,
            scope,
            config,
        } => return web_only(WebRole::Agency, &name, &scope, &config),
        EnrolCommand::Researcher {
            name,
            scope,
            config,
        } => return web_only(WebRole::Researcher, &name, &scope, &config),
    };
    let EnrolOpts { config, out, url } = opts;
    let config = &load(&config)?;
    if let Some(url) = &url
        && let Err(e) = sajja_edge::enrolment::check_hub_url(url)
    {
        bail!("--url {e}");
    }
    let out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}-{}.bundle",
            principal.role().name(),
            principal.subject()
        ))
    });
    if out.exists() {
        bail!("{} exists; a bundle is never overwritten", out.display());
    }
    let mut ingest = Ingest::new(open_store(config)?);
    let bundle = operations::enrol(
        &mut ingest,
        config,
        operations::EnrolRequest {
            principal: principal.clone(),
            public_key,
            hub_url: url.unwrap_or_else(|| operations::hub_url(config)),
        },
    )?;
    bundle.write(&out)?;
    println!(
        "enrolled {principal}: certificate {} valid until {}",
        bundle.serial,
        sajja_hub::values::time::timestamp(bundle.not_after)
    );
    println!(
        "wrote {} (mode 0600, it holds a private key) for {}",
        out.display(),
        bundle.hub_url
    );
    use sajja_hub::values::principal::Principal;
    match &principal {
        Principal::Coordinator { name, scope } => dashboard_code(
            config,
            name,
            sajja_hub::web::accounts::WebRole::Coordinator,
            scope,
        )?,
        Principal::Operator(name) => dashboard_code(
            config,
            name,
            sajja_hub::web::accounts::WebRole::Operator,
            &config.hub_id,
        )?,
        Principal::Group(_) | Principal::Hub(_) => {}
    }
    Ok(())
}

pub(crate) fn init(
    dir: &Path,
    hub_id: &str,
    level: &str,
    listen: &str,
    public_url: Option<&str>,
    names: &[String],
    data_dir: &Path,
) -> anyhow::Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} exists and is not empty", dir.display());
    }
    let listen_addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen} is not an address"))?;
    let names = tls::certificate_names(listen_addr, public_url, names)?;
    let public_url_line = match public_url {
        Some(url) => format!("public_url = \"{url}\"\n"),
        None => String::new(),
    };
    std::fs::create_dir_all(dir.join("tls"))?;
    let data_dir_text = data_dir
        .to_str()
        .with_context(|| format!("--data-dir {} is not UTF-8", data_dir.display()))?
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let ca = tls::generate_ca(hub_id)?;
    let server = tls::issue_server_cert(&ca, hub_id, &names)?;
    tls::write_public(&dir.join("tls/ca.pem"), ca.cert.as_bytes())?;
    tls::write_private(&dir.join("tls/ca.key"), ca.key.as_bytes())?;
    tls::write_public(&dir.join("tls/server.pem"), server.cert.as_bytes())?;
    tls::write_private(&dir.join("tls/server.key"), server.key.as_bytes())?;
    let hub_key = sajja_common::SigningKey::generate()?;
    tls::write_private(&dir.join("hub.key"), hex::encode(hub_key.seed()).as_bytes())?;
    let config = format!(
        "# Sajja hub configuration. Paths are relative to this file.\n\
         hub_id = \"{hub_id}\"\n\
         level = \"{level}\"\n\
         listen = \"{listen}\"\n\
         {public_url_line}\
         data_dir = \"{data_dir_text}\"\n\
         signing_key = \"hub.key\"\n\n\
         [tls]\n\
         cert = \"tls/server.pem\"\n\
         key = \"tls/server.key\"\n\
         ca = \"tls/ca.pem\"\n\
         ca_key = \"tls/ca.key\"\n"
    );
    tls::write_public(&dir.join("hub.toml"), config.as_bytes())?;
    let config = HubConfig::load(&dir.join("hub.toml"))?;
    open_store(&config)?;
    println!("created hub {hub_id} ({level}) in {}", dir.display());
    println!(
        "hub key {} (a province lists it under [[children]])",
        hub_key.public()
    );
    println!(
        "nodes verify this hub with {}",
        dir.join("tls/ca.pem").display()
    );
    Ok(())
}
