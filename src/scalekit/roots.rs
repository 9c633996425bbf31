//! The system's trust roots, read from the distribution's one bundle file.
//!
//! Left to itself, the platform verifier reads the bundle *and* every file of the certificate
//! directory (`/etc/ssl/certs`: about 150 opens, 300 `statx` and 330 reads, 3-4 ms of a
//! `token` call's own 6-9 ms). The bundle holds the same roots in one file: the tools that
//! maintain the directory (`update-ca-certificates`, `update-ca-trust`) write both.
//!
//! The bundle is `SSL_CERT_FILE` when set, else the distribution's. `SSL_CERT_DIR` adds
//! roots: a directory other than the bundle's own, a missing or unreadable bundle, or one
//! without a certificate leaves everything to the platform verifier, which loads what the
//! variables name exactly as before (and says so when there is nothing).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Where distributions keep their bundle (the list `openssl-probe` knows, most common
/// first).
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // Fedora, RHEL 7+
    "/etc/pki/tls/certs/ca-bundle.crt",   // RHEL 6
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/ssl/cert.pem",                  // Alpine, OpenBSD
    "/usr/local/share/certs/ca-root-nss.crt", // FreeBSD
    "/usr/local/etc/ssl/cert.pem",        // FreeBSD
];
/// Elsewhere the platform's own store is used (macOS keychain, Windows, Android).
#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
const BUNDLES: &[&str] = &[];

/// The https client trusting `roots` (the system bundle's, from [`system_bundle`]), or when
/// there are none, or rustls refuses one of them (which fails the whole build), the platform
/// verifier, which skips what it cannot read.
pub(crate) fn with_roots(
    builder: impl Fn() -> reqwest::ClientBuilder,
    roots: Option<Vec<reqwest::Certificate>>,
) -> Result<reqwest::Client, reqwest::Error> {
    match roots {
        Some(roots) => builder()
            .tls_certs_only(roots)
            .build()
            .or_else(|_| builder().build()),
        None => builder().build(),
    }
}

/// The roots of the first bundle that exists and parses, unless `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` is set. `None`: let the platform verifier load the store.
pub(crate) fn system_bundle() -> Option<Vec<reqwest::Certificate>> {
    // Elsewhere the platform's store is no file at all; SSL_CERT_FILE stays the platform
    // verifier's business there.
    if BUNDLES.is_empty() {
        return None;
    }
    let candidates: Vec<&Path> = BUNDLES.iter().map(Path::new).collect();
    bundle_roots(
        std::env::var_os("SSL_CERT_FILE"),
        std::env::var_os("SSL_CERT_DIR"),
        &candidates,
    )
}

fn bundle_roots(
    cert_file: Option<OsString>,
    cert_dir: Option<OsString>,
    candidates: &[&Path],
) -> Option<Vec<reqwest::Certificate>> {
    let file: PathBuf = match cert_file {
        Some(file) => file.into(),
        None => candidates.iter().find(|p| p.is_file())?.to_path_buf(),
    };
    if let Some(dirs) = cert_dir {
        // Only the bundle's own directory holds nothing the bundle lacks.
        let own = file.parent().and_then(|d| d.canonicalize().ok())?;
        let other = std::env::split_paths(&dirs)
            .filter(|d| !d.as_os_str().is_empty())
            .any(|d| d.canonicalize().ok().as_ref() != Some(&own));
        if other {
            return None;
        }
    }
    let pem = std::fs::read(&file).ok()?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .ok()
        .filter(|certs| !certs.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bundle_unless_the_variables_name_more() {
        let tmp = tempfile::tempdir().unwrap();
        let junk = tmp.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let missing = tmp.path().join("missing.pem");
        assert!(bundle_roots(None, None, &[&missing, &junk]).is_none());
        assert!(bundle_roots(Some(missing.clone().into()), None, &[]).is_none());
        // A machine without a bundle has nothing more to check here.
        let Some(system) = BUNDLES.iter().map(Path::new).find(|p| p.exists()) else {
            return;
        };
        let roots = bundle_roots(None, None, &[&missing, system]).expect("roots");
        assert!(roots.len() > 10, "{}", roots.len());
        // SSL_CERT_FILE is the bundle; a missing one is left to the platform (its error).
        assert!(bundle_roots(Some(system.into()), None, &[]).is_some());
        assert!(bundle_roots(Some(missing.into()), None, &[system]).is_none());
        // SSL_CERT_DIR: the bundle's own directory adds nothing; another one does.
        let own = system.parent().unwrap().as_os_str().to_owned();
        assert!(bundle_roots(None, Some(own), &[system]).is_some());
        let other = tmp.path().as_os_str().to_owned();
        assert!(bundle_roots(None, Some(other), &[system]).is_none());
    }

    #[test]
    fn a_certificate_rustls_refuses_does_not_fail_the_client() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bad = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let roots = reqwest::Certificate::from_pem_bundle(bad).expect("PEM-shaped");
        assert!(
            reqwest::Client::builder()
                .tls_certs_only(roots.clone())
                .build()
                .is_err()
        );
        // Falls back to the platform verifier: as good as no bundle at all.
        assert_eq!(
            with_roots(reqwest::Client::builder, Some(roots)).is_ok(),
            with_roots(reqwest::Client::builder, None).is_ok()
        );
    }
}
