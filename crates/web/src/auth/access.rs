//! Who may do what: the one place where roles (admin, board, school, support, viewer) become permissions.
//!
//! | capability            | admin | board | school          | support | viewer |
//! |-----------------------|-------|-------|-----------------|---------|--------|
//! | [`Capability::ViewDevices`] 端末台帳の閲覧 | ✓ | ✓ | own schools | ✓ | — |
//! | [`Capability::ManageFleet`] 事故登録・修理完了 | ✓ | ✓ | own schools | ✓ | — |
//! | [`Capability::ViewModels`] 機種と別名の閲覧 | ✓ | ✓ | — | ✓ | — |
//! | [`Capability::ManageModels`] 機種の別名の登録・削除 | ✓ | ✓ | — | — | — |
//! | [`Capability::ViewReports`] 運用状況（集計）| ✓ | ✓ | ✓ | ✓ | ✓ |
//! | [`Capability::ViewSchools`] 学校一覧 | ✓ | ✓ | ✓ | ✓ | — |
//! | [`Capability::ViewPlan`] 推進計画の閲覧・コメント | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | [`Capability::EditPlan`] 推進計画の編集（担当課の目標、受付中の年度） | ✓ | ✓ | — | — | — |
//! | [`Capability::ImportPlan`] 推進計画ファイルの取込（画面からのアップロード） | ✓ | ✓ | — | — | — |
//! | [`Capability::EditPlanNote`] 計画の注記の変更 | ✓ | ✓ | — | — | — |
//! | [`Capability::ManagePlanYears`] 年度の受付・ロック | ✓ | — | — | — | — |
//! | [`Capability::ViewEscalationPolicy`] 段階的な対応の方針の閲覧 | ✓ | ✓ | — | — | — |
//! | [`Capability::EditEscalationPolicy`] 段階的な対応の方針の変更 | ✓ | — | — | — | — |
//! | [`Capability::NotifySchools`] 学校へ通知メールを送信 | ✓ | ✓ | — | — | — |
//! | [`Access::may_complete_work`] 作業を完了にする | ✓ | ✓ | own schools, 学校への通知 only | ✓ | — |
//! | [`Capability::ViewImports`] 取り込み画面・履歴 | ✓ | ✓ | own schools' uploads | ✓ | — |
//! | [`Access::may_import`] ファイルの取り込み | every kind | every kind | — | incidents | — |
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
    /// See the models, their groups and aliases (the staff who import MDM exports: the board and
    /// the support centre; a model list is no school's business and no committee report).
    ViewModels,
    /// Add and remove model aliases (a register setting of the board).
    ManageModels,
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
    /// Set or clear a plan's note (計画の注記, e.g. that it is another city's plan shown for
    /// illustration): the board's staff who keep the plan.
    EditPlanNote,
    /// Open and lock a plan year.
    ManagePlanYears,
    /// Read the escalation policy (thresholds, steps) and who changed it.
    ViewEscalationPolicy,
    /// Change the escalation policy.
    EditEscalationPolicy,
    /// E-mail the schools their month's notice.
    NotifySchools,
    /// Open the imports page and the import history (what each role may upload is
    /// [`Access::may_import`]).
    ViewImports,
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
            Capability::ViewModels => matches!(role, Role::Admin | Role::Board | Role::Support),
            Capability::ManageModels => matches!(role, Role::Admin | Role::Board),
            Capability::ViewReports => true,
            Capability::ViewSchools => role != Role::Viewer,
            Capability::ViewPlan => true,
            Capability::EditPlan | Capability::ImportPlan | Capability::EditPlanNote => {
                matches!(role, Role::Admin | Role::Board)
            }
            Capability::ManagePlanYears => role == Role::Admin,
            Capability::ViewEscalationPolicy | Capability::NotifySchools => matches!(role, Role::Admin | Role::Board),
            Capability::EditEscalationPolicy => role == Role::Admin,
            Capability::ViewImports => role != Role::Viewer,
        }
    }

    /// Whether the user may upload and import files of `kind`: admin and board every kind, the
    /// support centre incident records, nobody else.
    pub fn may_import(&self, kind: gigaops_ingest::ImportKind) -> bool {
        match self.user.role {
            Role::Admin | Role::Board => true,
            Role::Support => kind == gigaops_ingest::ImportKind::Incidents,
            Role::School | Role::Viewer => false,
        }
    }

    /// Whether the user sees pupil-level rows of school `school_id` (cases, work items): every
    /// school for staff, their own schools for a `school` user, none for committee viewers.
    pub fn sees_school(&self, school_id: i64) -> bool {
        self.allows(Capability::ViewDevices) && self.school_scope().is_none_or(|ids| ids.contains(&school_id))
    }

    /// Whether the user may mark a work item done: board, admin and support staff any item; a
    /// `school` user only the notices to their own schools (audience `school`); viewers none.
    pub fn may_complete_work(&self, school_id: i64, audience: &str) -> bool {
        match self.user.role {
            Role::Admin | Role::Board | Role::Support => true,
            Role::School => audience == "school" && self.sees_school(school_id),
            Role::Viewer => false,
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
    fn model_capabilities() {
        use Capability::*;
        for (role, view, manage) in [
            (Role::Admin, true, true),
            (Role::Board, true, true),
            (Role::School, false, false),
            (Role::Support, true, false),
            (Role::Viewer, false, false),
        ] {
            assert_eq!([user(role).allows(ViewModels), user(role).allows(ManageModels)], [view, manage], "{role}");
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

    #[test]
    fn import_rules() {
        use gigaops_ingest::ImportKind;
        for k in ImportKind::ALL {
            assert!(user(Role::Admin).may_import(k) && user(Role::Board).may_import(k), "{k}");
            assert!(!user(Role::School).may_import(k) && !user(Role::Viewer).may_import(k), "{k}");
            assert_eq!(user(Role::Support).may_import(k), k == ImportKind::Incidents, "{k}");
        }
        assert!(!user(Role::Viewer).allows(Capability::ViewImports));
        assert!(user(Role::School).allows(Capability::ViewImports));
    }

    #[test]
    fn escalation_rules() {
        use Capability::*;
        let got = |r| [ViewEscalationPolicy, EditEscalationPolicy, NotifySchools].map(|c| user(r).allows(c));
        assert_eq!(got(Role::Admin), [true, true, true]);
        assert_eq!(got(Role::Board), [true, false, true]);
        for r in [Role::School, Role::Support, Role::Viewer] {
            assert_eq!(got(r), [false, false, false], "{r}");
        }
        let school = user(Role::School);
        assert!(school.may_complete_work(3, "school"));
        assert!(!school.may_complete_work(4, "school"), "another school's notice");
        assert!(!school.may_complete_work(3, "device") && !school.may_complete_work(3, "parents"));
        assert!(school.sees_school(3) && !school.sees_school(4));
        for r in [Role::Admin, Role::Board, Role::Support] {
            assert!(user(r).may_complete_work(4, "device") && user(r).sees_school(4), "{r}");
        }
        assert!(!user(Role::Viewer).may_complete_work(3, "school") && !user(Role::Viewer).sees_school(3));
    }
}
