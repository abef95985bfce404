//! The shared secrets in use: the current one, which signs everything new, and during a
//! rotation one more that is accepted but never signs. Everything signed carries the id of
//! its key (a request in `x-roam-key-id`, a token and a bookmark in their text), so a verifier
//! tries the one key it names; what names none (made before key ids) is tried against both.
//!
//! Rotation without a window of 401s takes three rollouts (DEPLOY.md has the procedure):
//! every verifier first accepts the new secret (current: old, accepted: new), then every
//! signer switches (current: new, accepted: old), and once the old tokens have expired (12 h)
//! the old secret goes. Switching in one step cannot work with more than one process: a token
//! signed by a process already switched would meet one that has never heard of its key.

use crate::secret::SharedSecret;

/// The current secret and, during a rotation, the other one still (or already) accepted.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: SharedSecret,
    accepted: Option<SharedSecret>,
}

impl Keyring {
    /// A ring of `current` and, if given, `accepted`.
    pub fn new(current: SharedSecret, accepted: Option<SharedSecret>) -> Self {
        Self { current, accepted }
    }

    /// The key that signs.
    pub fn current(&self) -> &SharedSecret {
        &self.current
    }

    /// The key accepted beside the current one, if a rotation is under way.
    pub fn accepted(&self) -> Option<&SharedSecret> {
        self.accepted.as_ref()
    }

    /// The keys to try for something signed under `key_id`: the one with that id (none when
    /// the id is unknown), or every key, current first, when nothing names one.
    pub fn candidates<'a>(
        &'a self,
        key_id: Option<&'a str>,
    ) -> impl Iterator<Item = &'a SharedSecret> + 'a {
        std::iter::once(&self.current)
            .chain(self.accepted.as_ref())
            .filter(move |key| key_id.is_none_or(|id| key.id() == id))
    }
}

impl From<SharedSecret> for Keyring {
    fn from(current: SharedSecret) -> Self {
        Self::new(current, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_key_is_tried_alone_and_an_unnamed_thing_against_both() {
        let new = SharedSecret::parse("the-new-shared-secret").unwrap();
        let old = SharedSecret::parse("the-old-shared-secret").unwrap();
        assert_ne!(new.id(), old.id());
        assert_eq!(new.id().len(), 8);
        let ring = Keyring::new(new.clone(), Some(old.clone()));
        let ids = |id: Option<&str>| -> Vec<String> {
            ring.candidates(id).map(|k| k.id().to_string()).collect()
        };
        assert_eq!(ids(Some(old.id())), [old.id()]);
        assert_eq!(ids(Some(new.id())), [new.id()]);
        assert_eq!(ids(None), [new.id(), old.id()]);
        assert!(ids(Some("00000000")).is_empty());
        let alone = Keyring::from(new);
        assert_eq!(alone.candidates(None).count(), 1);
    }
}
