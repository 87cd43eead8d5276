//! Who may do what: the one place where roles (DESIGN.md §1) become permissions.
//!
//! | capability            | admin | board | school          | support | viewer |
//! |-----------------------|-------|-------|-----------------|---------|--------|
//! | [`Capability::ViewDevices`] 端末台帳の閲覧 | ✓ | ✓ | own schools | ✓ | — |
//! | [`Capability::ManageFleet`] 事故登録・修理完了 | ✓ | ✓ | own schools | ✓ | — |
//! | [`Capability::ViewReports`] 運用状況（集計）| ✓ | ✓ | ✓ | ✓ | ✓ |
//! | [`Capability::ViewSchools`] 学校一覧 | ✓ | ✓ | ✓ | ✓ | — |
//! | [`Capability::ViewPlan`] 推進計画の閲覧・コメント | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | [`Capability::EditPlan`] 推進計画の編集（担当課の目標、受付中の年度） | ✓ | ✓ | — | — | — |
//! | [`Capability::ImportPlan`] 推進計画ファイルの取込（画面からのアップロード） | ✓ | ✓ | — | — | — |
//! | [`Capability::ManagePlanYears`] 年度の受付・ロック | ✓ | — | — | — | — |
//!
//! Everything is limited to the user's municipality. Reports are aggregates without school- or
//! pupil-level rows, so every role may read them. A `school` user's device pages are filtered by
//! [`Access::school_scope`]: another school's device is 404, as if it did not exist.

use crate::errors::AppError;
use gigaops_store::users::{Role, User};

/// Something a page or action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// See the device list, a device's page and the counter search.
    ViewDevices,
    /// Register incidents, swap spares, return devices from repair.
    ManageFleet,
    /// Read and download the fleet report (学習者用端末の運用状況).
    ViewReports,
    /// See the school list.
    ViewSchools,
    /// Read the plan, its history; comment.
    ViewPlan,
    /// Edit plan entries (the store also checks the division and that the year is open).
    EditPlan,
    /// Upload a plan file (資料4-1 or schedule layout) through `gigaops import plan`'s path: the roles
    /// that edit the plan. An import is not limited to the user's divisions (like the CLI); the store
    /// refuses locked years.
    ImportPlan,
    /// Open and lock a plan year.
    ManagePlanYears,
}

/// The permissions of a signed-in user.
#[derive(Debug, Clone)]
pub struct Access {
    user: User,
}

impl Access {
    /// The permissions of `user`.
    pub fn new(user: User) -> Self {
        Access { user }
    }

    /// The user these permissions belong to.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// The municipality (教育委員会) every query of this user is limited to.
    pub fn municipality_id(&self) -> i64 {
        self.user.municipality_id
    }

    /// Whether the user's role allows `cap` (the table in the [module docs](self)).
    pub fn allows(&self, cap: Capability) -> bool {
        let role = self.user.role;
        match cap {
            Capability::ViewDevices | Capability::ManageFleet => role.manages_fleet(),
            Capability::ViewReports => true,
            Capability::ViewSchools => role != Role::Viewer,
            Capability::ViewPlan => true,
            Capability::EditPlan | Capability::ImportPlan => matches!(role, Role::Admin | Role::Board),
            Capability::ManagePlanYears => role == Role::Admin,
        }
    }

    /// `Ok` when [`allows`](Self::allows), else [`AppError::Forbidden`].
    pub fn require(&self, cap: Capability) -> Result<(), AppError> {
        if self.allows(cap) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// [`Capability::ViewDevices`].
    pub fn can_view_devices(&self) -> bool {
        self.allows(Capability::ViewDevices)
    }

    /// [`Capability::ManageFleet`].
    pub fn can_manage_fleet(&self) -> bool {
        self.allows(Capability::ManageFleet)
    }

    /// [`Capability::ViewReports`].
    pub fn can_view_reports(&self) -> bool {
        self.allows(Capability::ViewReports)
    }

    /// [`Capability::ViewSchools`].
    pub fn can_view_schools(&self) -> bool {
        self.allows(Capability::ViewSchools)
    }

    /// The schools whose devices the user sees: `None` = every school of the municipality,
    /// `Some(ids)` = only these (a `school` user; an empty list sees no device).
    pub fn school_scope(&self) -> Option<Vec<i64>> {
        if self.user.role.sees_all_schools() {
            None
        } else {
            Some(self.user.school_ids.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> Access {
        Access::new(User {
            id: 1,
            municipality_id: 7,
            email: "a@example.jp".into(),
            display_name: "A".into(),
            role,
            school_ids: vec![3],
            password_hash: String::new(),
        })
    }

    #[test]
    fn role_table() {
        use Capability::*;
        let expect = [
            (Role::Admin, [true, true, true, true]),
            (Role::Board, [true, true, true, true]),
            (Role::School, [true, true, true, true]),
            (Role::Support, [true, true, true, true]),
            (Role::Viewer, [false, false, true, false]),
        ];
        for (role, want) in expect {
            let a = user(role);
            let got = [ViewDevices, ManageFleet, ViewReports, ViewSchools].map(|c| a.allows(c));
            assert_eq!(got, want, "{role}");
        }
    }

    #[test]
    fn plan_capabilities() {
        use Capability::*;
        for (role, edit, import, years) in [
            (Role::Admin, true, true, true),
            (Role::Board, true, true, false),
            (Role::School, false, false, false),
            (Role::Support, false, false, false),
            (Role::Viewer, false, false, false),
        ] {
            let a = user(role);
            assert!(a.allows(ViewPlan), "{role}");
            assert_eq!(
                [a.allows(EditPlan), a.allows(ImportPlan), a.allows(ManagePlanYears)],
                [edit, import, years],
                "{role}"
            );
        }
    }

    #[test]
    fn only_school_users_are_scoped() {
        assert_eq!(user(Role::School).school_scope(), Some(vec![3]));
        for r in [Role::Admin, Role::Board, Role::Support, Role::Viewer] {
            assert_eq!(user(r).school_scope(), None, "{r}");
        }
        assert!(matches!(user(Role::Viewer).require(Capability::ViewDevices), Err(AppError::Forbidden)));
        assert_eq!(user(Role::Board).municipality_id(), 7);
    }
}
