//! Local accounts: argon2id password hashes, roles (admin, board, school, support, viewer) and school scoping.

use crate::entity::{app_user, school, user_school};
use crate::{Result, Store, StoreError};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use std::fmt;

/// Roles. Every page and API call checks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// システム管理者: accounts, settings, locking a year.
    Admin,
    /// 教育委員会: everything in their municipality.
    Board,
    /// 学校: only their own school(s).
    School,
    /// 運営支援センター: tickets, visits, devices; reads plans.
    Support,
    /// 委員: read-only reports, no pupil-level data.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Board, Role::School, Role::Support, Role::Viewer];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Board => "board",
            Role::School => "school",
            Role::Support => "support",
            Role::Viewer => "viewer",
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            Role::Admin => "システム管理者",
            Role::Board => "教育委員会",
            Role::School => "学校",
            Role::Support => "運営支援センター",
            Role::Viewer => "委員（閲覧）",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }
    /// May this role see and change the device register (incidents, swaps, movements)?
    pub fn manages_fleet(self) -> bool {
        matches!(self, Role::Admin | Role::Board | Role::Support | Role::School)
    }
    /// Sees every school of the municipality (otherwise only the user's own schools).
    pub fn sees_all_schools(self) -> bool {
        !matches!(self, Role::School)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed-in user as the rest of the program sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub municipality_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// School ids the user is scoped to (only meaningful for [`Role::School`]).
    pub school_ids: Vec<i64>,
    /// The password hash (its change invalidates sessions).
    pub password_hash: String,
}

/// Hashes a password with argon2id (default parameters, random salt) into a PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Rule(format!("パスワードをハッシュできません: {e}")))
}

/// Checks a password against a PHC hash; a malformed hash counts as a mismatch.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// Minimum password length, in characters (Unicode scalar values), enforced by [`check_password`].
pub const MIN_PASSWORD_LEN: usize = 12;

/// Lowest accepted zxcvbn score (0 = guessed at once … 4 = very hard): 3 means "safely
/// unguessable" against an online attack and a throttled offline one, zxcvbn's own advice for
/// passwords of accounts that matter.
pub const MIN_PASSWORD_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// The password rule, in one place (every path that sets a password calls it): at least
/// [`MIN_PASSWORD_LEN`] characters, not only whitespace, and a zxcvbn strength score of at least
/// [`MIN_PASSWORD_SCORE`]. zxcvbn (the `zxcvbn` crate, a port of Dropbox's estimator) bundles
/// lists of common passwords, English words, names and keyboard patterns, so `password1234`,
/// `qwertyuiopas` or `aaaaaaaaaaaa` fail; `user_inputs` (e-mail, display name) count as guessable too.
///
/// Errors: [`StoreError::Rule`] with a Japanese message saying which part of the rule failed.
pub fn check_password(password: &str, user_inputs: &[&str]) -> Result<()> {
    if password.trim().is_empty() {
        return Err(StoreError::Rule("パスワードが空白だけです。文字を入れてください".into()));
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(StoreError::Rule(format!("パスワードは{MIN_PASSWORD_LEN}文字以上にしてください")));
    }
    if zxcvbn::zxcvbn(password, user_inputs).score() < MIN_PASSWORD_SCORE {
        return Err(StoreError::Rule(
            "パスワードが推測されやすすぎます（よく使われるパスワード、単語、名前、キーボードの並び、同じ文字の繰り返しなど）。\
             関係のない単語をいくつか組み合わせるなど、推測されにくいものにしてください"
                .into(),
        ));
    }
    Ok(())
}

/// Creates an account. `school_codes` are required for [`Role::School`] and must exist in the
/// municipality.
///
/// Errors: [`StoreError::Rule`] for an invalid e-mail, a password that fails [`check_password`], a
/// school user without schools, or an e-mail already registered; [`StoreError::NotFound`] for an unknown school.
pub async fn add(
    store: &Store,
    municipality_id: i64,
    email: &str,
    display_name: &str,
    password: &str,
    role: Role,
    school_codes: &[String],
) -> Result<User> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(StoreError::Rule(format!("メールアドレス「{email}」の形式が不正です")));
    }
    check_password(password, &[&email, display_name])?;
    if role == Role::School && school_codes.is_empty() {
        return Err(StoreError::Rule("学校ユーザーには --school で学校コードを指定してください".into()));
    }
    if app_user::Entity::find().filter(app_user::Column::Email.eq(&email)).one(&store.db).await?.is_some() {
        return Err(StoreError::Rule(format!("メールアドレス「{email}」は登録済みです")));
    }
    let mut school_ids = Vec::new();
    for code in school_codes {
        let s = school::Entity::find()
            .filter(school::Column::MunicipalityId.eq(municipality_id))
            .filter(school::Column::SchoolCode.eq(code.trim()))
            .one(&store.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("学校コード「{code}」の学校は登録されていません")))?;
        school_ids.push(s.id);
    }
    let hash = hash_password(password)?;
    let txn = store.db.begin().await?;
    let u = app_user::ActiveModel {
        municipality_id: Set(municipality_id),
        email: Set(email.clone()),
        display_name: Set(if display_name.trim().is_empty() { email.clone() } else { display_name.trim().to_string() }),
        password_hash: Set(hash),
        role: Set(role.as_str().to_string()),
        active: Set(true),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for sid in &school_ids {
        user_school::ActiveModel { user_id: Set(u.id), school_id: Set(*sid) }.insert(&txn).await?;
    }
    txn.commit().await?;
    to_user(store, u).await
}

async fn to_user(store: &Store, u: app_user::Model) -> Result<User> {
    let school_ids = user_school::Entity::find()
        .filter(user_school::Column::UserId.eq(u.id))
        .order_by_asc(user_school::Column::SchoolId)
        .all(&store.db)
        .await?
        .into_iter()
        .map(|r| r.school_id)
        .collect();
    let role = Role::parse(&u.role).ok_or_else(|| StoreError::Rule(format!("不明な権限「{}」", u.role)))?;
    Ok(User {
        id: u.id,
        municipality_id: u.municipality_id,
        email: u.email,
        display_name: u.display_name,
        role,
        school_ids,
        password_hash: u.password_hash,
    })
}

/// Loads an active user by id.
pub async fn get(store: &Store, id: i64) -> Result<Option<User>> {
    match app_user::Entity::find_by_id(id).one(&store.db).await? {
        Some(u) if u.active => Ok(Some(to_user(store, u).await?)),
        _ => Ok(None),
    }
}

/// Checks e-mail and password; `None` when either is wrong or the account is inactive.
pub async fn authenticate(store: &Store, email: &str, password: &str) -> Result<Option<User>> {
    let email = email.trim().to_lowercase();
    let Some(u) = app_user::Entity::find().filter(app_user::Column::Email.eq(email)).one(&store.db).await? else {
        // same work as a real check, so timing does not reveal which e-mails exist
        let _ =
            verify_password(password, "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNo");
        return Ok(None);
    };
    if !u.active || !verify_password(password, &u.password_hash) {
        return Ok(None);
    }
    Ok(Some(to_user(store, u).await?))
}

/// All users of a municipality, by e-mail.
pub async fn list(store: &Store, municipality_id: i64) -> Result<Vec<User>> {
    let rows = app_user::Entity::find()
        .filter(app_user::Column::MunicipalityId.eq(municipality_id))
        .order_by_asc(app_user::Column::Email)
        .all(&store.db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for u in rows {
        out.push(to_user(store, u).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused() {
        for weak in [
            "",
            "            ",
            "short-pw",
            "aaaaaaaaaa",
            "aaaaaaaaaaaa",
            "password12",
            "password1234",
            "qwertyuiopas",
            "123456789012",
            "ｐａｓｓｗｏｒｄ",
            "admin@example.jp",
        ] {
            let e = check_password(weak, &["admin@example.jp"]).expect_err(weak);
            assert!(matches!(e, StoreError::Rule(ref m) if m.contains("パスワード")), "{weak}: {e}");
        }
    }

    #[test]
    fn strong_passwords_pass() {
        for ok in ["gigaops-demo-2026!", "correct-horse-battery-staple", "桃井小の端末は5月に更新"] {
            check_password(ok, &[]).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert_eq!(MIN_PASSWORD_LEN, 12);
    }
}
