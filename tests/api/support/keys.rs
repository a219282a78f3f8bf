//! RSA keys for the payment stand-ins: generated once per test process (2048 bits, as both
//! providers use), never committed. The stand-ins sign and verify with the `rsa` crate, another
//! implementation than the shop's (`ring`), so a mistake the two shared would not pass.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};

/// Whose key it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The shop's merchant API key at WeChat Pay (apiclient_key.pem).
    WechatMerchant,
    /// WeChat Pay's platform key (微信支付公钥).
    WechatPlatform,
    /// The shop's application key at Alipay (应用私钥).
    AlipayApp,
    /// Alipay's own key (支付宝公钥).
    AlipayPlatform,
    /// Someone else's, for forgeries.
    Stranger,
}

pub struct TestKey {
    private: RsaPrivateKey,
    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub private_pem: String,
    /// SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
    pub public_pem: String,
}

/// The key of `role`, made on first use.
pub fn key(role: Role) -> &'static TestKey {
    static KEYS: [OnceLock<TestKey>; 5] = [const { OnceLock::new() }; 5];
    KEYS[role as usize].get_or_init(|| {
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key is generated");
        let private_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("the key writes as PKCS#8")
            .to_string();
        let public_pem = RsaPublicKey::from(&private)
            .to_public_key_pem(LineEnding::LF)
            .expect("the public key writes as SPKI");
        TestKey {
            private,
            private_pem,
            public_pem,
        }
    })
}

impl TestKey {
    /// The base64 SHA256withRSA signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        let signature = SigningKey::<Sha256>::new(self.private.clone()).sign(message);
        STANDARD.encode(signature.to_bytes())
    }

    /// Whether `signature` (base64) is this key's SHA256withRSA signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(bytes) = STANDARD.decode(signature) else {
            return false;
        };
        let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
            return false;
        };
        VerifyingKey::<Sha256>::new(RsaPublicKey::from(&self.private))
            .verify(message, &signature)
            .is_ok()
    }

    /// Writes the private and public PEM files into `dir`, named after `name`.
    pub fn write_files(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let private = dir.join(format!("{name}_private.pem"));
        let public = dir.join(format!("{name}_public.pem"));
        std::fs::write(&private, &self.private_pem).expect("the private key file is written");
        std::fs::write(&public, &self.public_pem).expect("the public key file is written");
        (private, public)
    }
}
