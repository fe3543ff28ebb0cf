//! TLS for `mqtts://`: a rustls client configuration (ring provider) trusting the system's
//! roots or `[broker] ca_file`, with an optional client certificate and key. Called only by
//! `mqtt.rs`, and only for `mqtts://`, so plain connections load no certificates at all.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// Where trust and identity come from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Files<'a> {
    pub ca_file: Option<&'a Path>,
    pub client_cert: Option<&'a Path>,
    pub client_key: Option<&'a Path>,
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = crate::files::read_small(path, what)?;
    let certs = rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("the {what} {} is not PEM", path.display()))?;
    if certs.is_empty() {
        bail!(
            "the {what} {} holds no certificate (BEGIN CERTIFICATE)",
            path.display()
        );
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let bytes = crate::files::read_small(path, "client key")?;
    rustls_pemfile::private_key(&mut bytes.as_slice())
        .with_context(|| format!("the client key {} is not PEM", path.display()))?
        .with_context(|| format!("the client key {} holds no private key", path.display()))
}

/// The client configuration for one connection.
pub fn client_config(files: Files) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match files.ca_file {
        Some(path) => {
            for cert in read_certs(path, "CA file")? {
                roots.add(cert).with_context(|| {
                    format!(
                        "the CA file {} holds a certificate rustls cannot use",
                        path.display()
                    )
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                bail!(
                    "no trusted root certificates found on this system; name one with `[broker] ca_file`"
                );
            }
        }
    }
    // ring, not aws-lc-rs: no C toolchain (cmake, NASM) to build tasctl. rustls 0.23.48
    // deprecates ring's provider for lacking post-quantum key exchange, which MQTT brokers do
    // not offer; the provider itself is unchanged, so the newest compatible rustls builds
    // without a warning too.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .with_root_certificates(roots);
    let config = match (files.client_cert, files.client_key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(read_certs(cert, "client certificate")?, read_key(key)?)
            .context("the client certificate and key do not fit together")?,
        (None, None) => builder.with_no_client_auth(),
        _ => bail!("a client certificate needs both `client_cert` and `client_key` in [broker]"),
    };
    Ok(Arc::new(config))
}
