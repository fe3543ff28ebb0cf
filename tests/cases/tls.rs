//! mqtts:// against a mosquitto TLS listener with a CA and certificates made at test time.

use std::net::{IpAddr, Ipv4Addr};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

use crate::support::{Broker, Env, stderr};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tasctl test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf = |name: &str, san: Option<SanType>| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.subject_alt_names.extend(san);
            let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server, server_key) = leaf(
            "127.0.0.1",
            Some(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))),
        );
        let (client, client_key) = leaf("tasctl-client", None);
        for (file, text) in [
            ("ca.pem", ca.pem()),
            ("server.pem", server),
            ("server.key", server_key),
            ("client.pem", client),
            ("client.key", client_key),
        ] {
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        Pki { dir }
    }

    fn path(&self, file: &str) -> String {
        self.dir.path().join(file).display().to_string()
    }

    fn broker(&self, extra: &str) -> Option<Broker> {
        Broker::start_with(&format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n{extra}",
            self.path("ca.pem"),
            self.path("server.pem"),
            self.path("server.key")
        ))
    }
}

/// tasctl over mqtts:// to a silent topic: a connection that got through ends with 4.
fn run(broker: &Broker, profile: &str) -> std::process::Output {
    Env::with_profile(profile)
        .tasctl()
        .args([
            "--broker",
            &format!("mqtts://127.0.0.1:{}", broker.port),
            "-w",
            "200ms",
            "power",
            "on",
            "nobody",
        ])
        .output()
        .unwrap()
}

#[test]
fn tls_with_the_ca_and_a_clear_error_without() {
    let pki = Pki::new();
    let Some(broker) = pki.broker("") else { return };
    let out = run(
        &broker,
        &format!("[broker]\nca_file = {:?}\n", pki.path("ca.pem")),
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "connected over TLS: {}",
        stderr(&out)
    );

    let out = run(&broker, "");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("TLS with 127.0.0.1:{} failed", broker.port))
            && err.contains("UnknownIssuer"),
        "{err}"
    );
    assert!(err.contains("name its CA with `[broker] ca_file`"), "{err}");

    // plain MQTT to a TLS port: refused, not hung
    let out = Env::new()
        .tasctl()
        .args([
            "--broker",
            &format!("mqtt://127.0.0.1:{}", broker.port),
            "--connect-timeout",
            "2s",
            "power",
            "on",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn a_client_certificate_when_the_broker_requires_one() {
    let pki = Pki::new();
    let Some(broker) = pki.broker("require_certificate true") else {
        return;
    };
    let ca = format!("[broker]\nca_file = {:?}\n", pki.path("ca.pem"));
    let with_cert = format!(
        "{ca}client_cert = {:?}\nclient_key = {:?}\n",
        pki.path("client.pem"),
        pki.path("client.key")
    );
    let out = run(&broker, &with_cert);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let out = run(&broker, &ca);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let half = format!("{ca}client_cert = {:?}\n", pki.path("client.pem"));
    let out = run(&broker, &half);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("needs both `client_cert` and `client_key`"),
        "{}",
        stderr(&out)
    );
}
