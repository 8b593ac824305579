//! Password hashing: Argon2id with OWASP's smallest recommended memory
//! (19 MiB, 2 passes): a login costs a Raspberry Pi a fraction of a second.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const PASSWORD_LENGTH_MIN: usize = 8;
pub const PASSWORD_LENGTH_MAX: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("a password is {PASSWORD_LENGTH_MIN} to {PASSWORD_LENGTH_MAX} characters")]
    BadLength,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string to store for a new password, after checking its length.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if !(PASSWORD_LENGTH_MIN..=PASSWORD_LENGTH_MAX).contains(&password.chars().count()) {
        return Err(PasswordError::BadLength);
    }
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hash(e.to_string()))?
        .to_string())
}

/// Does `password` match `stored`? With no stored hash (an unknown name) a
/// hash is computed all the same, so the answer's timing does not tell
/// which names exist.
pub fn verify(password: &str, stored: Option<&str>) -> Result<bool, PasswordError> {
    let Some(stored) = stored else {
        let salt =
            SaltString::encode_b64(&[0u8; 16]).map_err(|e| PasswordError::Hash(e.to_string()))?;
        let _ = hasher().hash_password(password.as_bytes(), &salt);
        return Ok(false);
    };
    let parsed = PasswordHash::new(stored).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = super::hash("correct horse").expect("hash");
        assert!(super::verify("correct horse", Some(&stored)).expect("verify"));
        assert!(!super::verify("wrong horse", Some(&stored)).expect("verify"));
        assert!(!super::verify("correct horse", None).expect("verify"));
        assert!(super::hash("short").is_err());
    }
}
