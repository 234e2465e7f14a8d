//! The HTTPS listener's certificate (docs/fidelity.md A.5): the configured PEM files, or a generated local CA plus a server
//! certificate for `localhost`, `127.0.0.1`, `::1` and the configured names.
//!
//! Design constraints: MSAL and azure-identity refuse non-https authorities, so the CA must be something a user can
//! trust once (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`): the CA key is kept in the TLS
//! directory and reused across restarts, while the server certificate is re-issued at every start (so name changes
//! apply). The CA's name is derived from its key, so the issuer can be rebuilt from the key alone (rcgen cannot
//! parse certificates without the x509-parser feature). Two emulators starting at once on the same directory agree
//! on one CA key: it is published with an atomic hard link that fails when the file already exists.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData,
};

use crate::config::Config;

const CA_KEY_FILE: &str = "ca-key.pem";
const CA_CERT_FILE: &str = "ca.pem";
const SERVER_CERT_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server-key.pem";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS: cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("TLS: cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("TLS: certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
}

/// What the HTTPS listener serves, and where the CA certificate clients should trust is.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// The generated CA certificate; None when the certificate comes from `tls.cert_file`.
    pub ca_file: Option<PathBuf>,
}

/// Load the configured certificate, or generate (reusing the kept CA) one for the local names.
pub fn prepare(config: &Config) -> Result<TlsMaterial, TlsError> {
    if !config.tls.cert_file.is_empty() {
        return Ok(TlsMaterial {
            cert_pem: read(Path::new(&config.tls.cert_file))?,
            key_pem: read(Path::new(&config.tls.key_file))?,
            ca_file: None,
        });
    }
    let dir = tls_dir(config);
    std::fs::create_dir_all(&dir).map_err(|source| TlsError::Write { path: dir.clone(), source })?;
    let ca_key = load_or_create_ca_key(&dir)?;
    let ca_params = ca_params(&ca_key);
    let ca_file = dir.join(CA_CERT_FILE);
    if !ca_file.is_file() {
        let ca_cert = ca_params.self_signed(&ca_key)?;
        write_atomically(&ca_file, ca_cert.pem().as_bytes(), false)?;
    }
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate()?;
    let server_cert = server_params(config)?.signed_by(&server_key, &issuer)?;
    let (cert_pem, key_pem) = (server_cert.pem(), server_key.serialize_pem());
    write_atomically(&dir.join(SERVER_CERT_FILE), cert_pem.as_bytes(), false)?;
    write_atomically(&dir.join(SERVER_KEY_FILE), key_pem.as_bytes(), true)?;
    Ok(TlsMaterial { cert_pem: cert_pem.into_bytes(), key_pem: key_pem.into_bytes(), ca_file: Some(ca_file) })
}

/// Where generated TLS files live: `tls.dir`, else `<data_dir>/tls`, else a per-user runtime or temp directory.
pub fn tls_dir(config: &Config) -> PathBuf {
    if !config.tls.dir.is_empty() {
        return PathBuf::from(&config.tls.dir);
    }
    if let Some(data) = config.data_dir() {
        return data.join("tls");
    }
    let base = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    base.join("entra-inbound").join("tls")
}

/// The CA certificate the banner tells users to trust (None with configured certificate files).
pub fn ca_file(config: &Config) -> Option<PathBuf> {
    config.tls.cert_file.is_empty().then(|| tls_dir(config).join(CA_CERT_FILE))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })
}

/// The kept CA key, or a new one published atomically (whoever links first wins; the other reads it).
fn load_or_create_ca_key(dir: &Path) -> Result<KeyPair, TlsError> {
    let path = dir.join(CA_KEY_FILE);
    if !path.exists() {
        let key = KeyPair::generate()?;
        let staged = staging_path(&path);
        write_file(&staged, key.serialize_pem().as_bytes(), true)?;
        let linked = std::fs::hard_link(&staged, &path);
        let _ = std::fs::remove_file(&staged);
        match linked {
            Ok(()) => return Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(TlsError::Write { path, source }),
        }
    }
    let pem = String::from_utf8_lossy(&read(&path)?).into_owned();
    Ok(KeyPair::from_pem(&pem)?)
}

/// The CA's parameters; its name carries a digest of its key so the same key always yields the same issuer.
fn ca_params(key: &KeyPair) -> CertificateParams {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.der_bytes());
    let id: String = digest.as_ref().iter().take(4).map(|b| format!("{b:02x}")).collect();
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "entra-inbound");
    name.push(DnType::CommonName, format!("entra-inbound local CA {id}"));
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

/// The server certificate: local names, configured names and the public TLS host.
fn server_params(config: &Config) -> Result<CertificateParams, TlsError> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(str::to_owned).to_vec();
    let public_host = config.public_tls_base_url().and_then(|url| host_of(&url));
    for name in config.tls.extra_names.iter().cloned().chain(public_host) {
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    let mut params = CertificateParams::new(names)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "entra-inbound");
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// `https://host:port/path` → `host` (brackets of an IPv6 literal removed).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then(|| host.to_owned())
}

fn staging_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    path.with_file_name(name)
}

/// Write via a temporary file and a rename, so readers never see half a file.
fn write_atomically(path: &Path, contents: &[u8], private: bool) -> Result<(), TlsError> {
    let staged = staging_path(path);
    write_file(&staged, contents, private)?;
    std::fs::rename(&staged, path).map_err(|source| TlsError::Write { path: path.to_owned(), source })
}

fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), TlsError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|source| TlsError::Write { path: path.to_owned(), source })?;
    file.write_all(contents).map_err(|source| TlsError::Write { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path) -> Config {
        let mut c = Config::defaults().unwrap();
        c.tls.dir = dir.display().to_string();
        c.tls.extra_names = vec!["entra".into()];
        c
    }

    #[test]
    fn the_ca_is_kept_and_reused_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let first = prepare(&config_in(dir.path())).unwrap();
        let ca = std::fs::read(first.ca_file.as_ref().unwrap()).unwrap();
        let ca_key = std::fs::read(dir.path().join(CA_KEY_FILE)).unwrap();
        let second = prepare(&config_in(dir.path())).unwrap();
        assert_eq!(std::fs::read(second.ca_file.unwrap()).unwrap(), ca);
        assert_eq!(std::fs::read(dir.path().join(CA_KEY_FILE)).unwrap(), ca_key);
        assert_ne!(first.key_pem, second.key_pem, "the server key is fresh each start");
        assert!(String::from_utf8(second.cert_pem).unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn configured_files_are_served_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let generated = prepare(&config_in(dir.path())).unwrap();
        let mut c = Config::defaults().unwrap();
        c.tls.cert_file = dir.path().join(SERVER_CERT_FILE).display().to_string();
        c.tls.key_file = dir.path().join(SERVER_KEY_FILE).display().to_string();
        let configured = prepare(&c).unwrap();
        assert_eq!(configured.cert_pem, generated.cert_pem);
        assert!(configured.ca_file.is_none());
        assert!(ca_file(&c).is_none());
    }

    #[test]
    fn tls_dir_prefers_config_then_data_dir() {
        let mut c = Config::defaults().unwrap();
        c.storage.data_dir = "/var/lib/e".into();
        assert_eq!(tls_dir(&c), PathBuf::from("/var/lib/e/tls"));
        c.tls.dir = "/x".into();
        assert_eq!(tls_dir(&c), PathBuf::from("/x"));
        assert_eq!(ca_file(&c), Some(PathBuf::from("/x/ca.pem")));
    }

    #[test]
    fn host_of_strips_scheme_port_and_brackets() {
        assert_eq!(host_of("https://entra:8443").as_deref(), Some("entra"));
        assert_eq!(host_of("https://[::1]:8443/x").as_deref(), Some("::1"));
        assert_eq!(host_of("https://example.com").as_deref(), Some("example.com"));
        assert_eq!(host_of("nonsense"), None);
    }
}
