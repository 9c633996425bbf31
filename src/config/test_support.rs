//! Fixtures shared by the configuration's unit tests.

use std::fs;
use std::path::Path;

use super::{Paths, update};
use crate::error::CliError;

/// Real `OpenClaw` `IDENTITY.md` variants (inline name, name on the next line, the unfilled
/// template), kept here so the tests need nothing outside the repository.
pub(super) const IDENTITY_INLINE: &str = "# IDENTITY.md - Who Am I?\n\n- **Name:** Mess\n- **Creature:** a helpful familiar\n- **Vibe:** sharp, warm\n- **Emoji:** \u{1f98a}\n";
pub(super) const IDENTITY_NEXTLINE: &str = "---\ntitle: \"IDENTITY\"\nsummary: \"Agent identity record\"\n---\n\n# IDENTITY.md - Who Am I?\n\n- **Name:**\n  _Clawdia_\n- **Creature:**\n  _robot_\n- **Vibe:**\n  _(how do you come across? sharp? warm? chaotic? calm?)_\n";
pub(super) const IDENTITY_TEMPLATE: &str = "# IDENTITY.md - Who Am I?\n\n_Fill this in during your first conversation. Make it yours._\n\n- **Name:**\n  _(pick something you like)_\n- **Creature:**\n  _(AI? robot? familiar? ghost in the machine? something weirder?)_\n- **Vibe:**\n  _(how do you come across? sharp? warm? chaotic? calm?)_\n- **Emoji:**\n  _(your signature \u{2014} pick one that feels right)_\n";
pub(super) const CONNECTIONS_JSON: &str = "{\n  \"gmail\": {\n    \"connection_name\": \"gmail_u3134a\",\n    \"identifier\": \"mess\"\n  },\n  \"slack\": {\n    \"connection_name\": \"slack_x7y9z\",\n    \"identifier\": \"mess\"\n  }\n}\n";
pub(super) const SEED_ENV: &str = "SCALEKIT_CLIENT_ID=skc_58327480066375686\nSCALEKIT_CLIENT_SECRET=test_secret_do_not_use\nSCALEKIT_ENV_URL=https://acme.scalekit.dev\n";

/// docs/cli.md's example, with a comment, an unknown key and an unknown table added.
pub(super) const HAND_WRITTEN: &str = "\
# my scalekit setup
[scalekit]
env_url = \"https://acme.scalekit.dev\"
client_id = \"skc_58327480066375686\"
identifier = \"mess\"              # default identifier for every service
future_key = true

# mail
[services.gmail]
connection_name = \"gmail_u3134a\"
identifier = \"mess\"              # optional; overrides the default
hosts = [\"gmail.googleapis.com\"]

[services.slack]
connection_name = \"slack_x7y9z\"

[extras]
note = \"kept\"
";

pub(super) fn temp_paths() -> (tempfile::TempDir, Paths) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let paths = Paths::new(Some(tmp.path().join("cfg"))).expect("paths");
    (tmp, paths)
}

pub(super) fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

pub(super) fn cli_error(err: &anyhow::Error) -> &CliError {
    err.downcast_ref::<CliError>().expect("a CliError")
}

/// The names in the directory, sorted.
pub(super) fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
pub(super) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

pub(super) fn add(paths: &Paths, service: &str, connection: &str, identifier: Option<&str>) {
    update(paths, |c| {
        c.set_service(service, connection, identifier);
        Ok(())
    })
    .expect("update");
}
