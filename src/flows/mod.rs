//! What several commands share. Commands call flows; flows never call commands.

pub(crate) mod env_names;
