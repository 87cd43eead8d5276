//! Device inventories and MDM exports → [`DeviceRecord`]s.
//!
//! One alias table covers every format (English and Japanese labels): the generic CSV
//! `serial_number,model,device_class,status,school_code,asset_tag`, Microsoft Intune "All devices →
//! Export", Jamf School and Jamf Pro, and Google Admin / GAM ChromeOS lists. Header names and
//! Japanese labels: reference/mdm-and-usage.md §4. Only the serial number is required.

use crate::cell::{self, Cells, SERIAL_ALIASES};
use crate::table::{FileError, RowError, Table};
use chrono::NaiveDate;
use gigaops_domain::fleet::{DeviceClass, DeviceStatus};
use gigaops_domain::SchoolCode;

/// Header aliases (compared after [`crate::table::normalize_header`], so `Serial number`,
/// `SerialNumber` and `serialNumber` are one alias).
const MODEL: &[&str] = &["model", "Model Name", "model.name", "機種", "機種名", "モデル", "デバイスモデル", "型番"];
/// The report group of a model (`iPad（小中）`); only gigaops' own inventory CSV has it.
const GROUP: &[&str] = &["model_group", "機種グループ", "機種区分"];
const CLASS: &[&str] = &["device_class", "端末区分", "端末種別"];
const STATUS: &[&str] = &["status", "状態", "ステータス"];
const SCHOOL: &[&str] = &["school_code", "学校コード"];
/// Where a school code may be found inside a path or label when there is no school column
/// (every such column is searched, in this order).
const PLACE: &[&str] =
    &["orgUnitPath", "組織部門", "組織部門のパス", "組織部門パス", "location", "annotatedLocation", "場所", "設置場所"];
const ASSET: &[&str] =
    &["asset_tag", "annotatedAssetId", "AssetID", "資産管理番号", "アセットID", "資産番号", "管理番号"];
const NAME: &[&str] = &["device_name", "name", "デバイス名", "名前", "端末名"];
const OS: &[&str] = &["os_version", "os.version", "OSのバージョン", "OSバージョン", "ChromeOSのバージョン"];
const LAST: &[&str] = &[
    "last_check_in",
    "Last check-in",
    "Last Inventory Update",
    "Last Inventory Update Date",
    "lastSync",
    "最終チェックイン",
    "最終同期",
    "インベントリの最終アップデート",
    "最終オンライン日時",
    "許可された時刻",
];

/// Headers only one format has (in detection order).
const INTUNE_MARKS: &[&str] = &[
    "Azure AD Device ID",
    "Enrollment date",
    "EAS activation ID",
    "Primary user UPN",
    "Primary user email address",
    "Management name",
    "Intune registered",
    "デバイスモデル",
    "許可された時刻",
];
const GOOGLE_MARKS: &[&str] = &[
    "orgUnitPath",
    "annotatedAssetId",
    "AssetID",
    "lastSync",
    "annotatedLocation",
    "annotatedUser",
    "autoUpdateExpiration",
    "AUE",
    "platformVersion",
    "Most Recent User",
    "組織部門",
    "組織部門のパス",
    "アセットID",
    "最終同期",
    "ChromeOSのバージョン",
];
const JAMF_PRO_MARKS: &[&str] = &[
    "Last Inventory Update",
    "Last Inventory Update Date",
    "Model Identifier",
    "Device Type",
    "Display Name",
    "Last Enrollment Date",
    "Initial Entry Date",
    "インベントリの最終アップデート",
];
const GENERIC_MARKS: &[&str] = &["device_class", "school_code", "端末区分", "学校コード"];
const JAMF_SCHOOL_MARKS: &[&str] =
    &["locationId", "Identification", "isManaged", "isSupervised", "enrollType", "AssignToUser", "UDID"];

/// Google ChromeOS statuses with no gigaops counterpart: read as "no status" instead of an error.
const GOOGLE_OTHER_STATUSES: &[&str] = &[
    "inactive",
    "delinquent",
    "return_arrived",
    "return_requested",
    "shipped",
    "unknown",
    "pre_provisioned",
    "unprovisioned",
];

const CLASS_EXPECTED: &str = "端末区分（学習者用・指導者用、または learner/teacher）";
const STATUS_EXPECTED: &str =
    "状態（配置済・予備機・修理中・紛失・廃棄、または deployed/spare/in_repair/lost/retired、Google の ACTIVE/DEPROVISIONED/DISABLED）";

/// The export a device file comes from, told by its headers ([`detect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceFormat {
    /// gigaops' own CSV (`serial_number,model,device_class,status,school_code,asset_tag`) or any
    /// file not recognised as a vendor export.
    Generic,
    /// Microsoft Intune "All devices → Export".
    Intune,
    /// Jamf School (API field names, placeholder CSV).
    JamfSchool,
    /// Jamf Pro (inventory / advanced search export).
    JamfPro,
    /// Google Admin console or GAM ChromeOS device list.
    GoogleAdmin,
}

impl DeviceFormat {
    /// `generic`, `intune`, `jamf_school`, `jamf_pro`, `google_admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceFormat::Generic => "generic",
            DeviceFormat::Intune => "intune",
            DeviceFormat::JamfSchool => "jamf_school",
            DeviceFormat::JamfPro => "jamf_pro",
            DeviceFormat::GoogleAdmin => "google_admin",
        }
    }
    /// Japanese name for messages, e.g. `Microsoft Intune のエクスポート`.
    pub fn label_ja(self) -> &'static str {
        match self {
            DeviceFormat::Generic => "gigaops 標準形式",
            DeviceFormat::Intune => "Microsoft Intune のエクスポート",
            DeviceFormat::JamfSchool => "Jamf School のエクスポート",
            DeviceFormat::JamfPro => "Jamf Pro のエクスポート",
            DeviceFormat::GoogleAdmin => "Google 管理コンソール（ChromeOS）のエクスポート",
        }
    }
}

/// The format whose characteristic headers the table has, checked in the order Intune, Google
/// Admin, Jamf Pro, generic, Jamf School (`SerialNumber`/`AssetTag` spelt exactly so, or
/// `UDID`, `locationId`, …); [`DeviceFormat::Generic`] when none match.
pub fn detect(table: &Table) -> DeviceFormat {
    let has = |marks: &[&str]| table.column(marks).is_some();
    if has(INTUNE_MARKS) {
        DeviceFormat::Intune
    } else if has(GOOGLE_MARKS) {
        DeviceFormat::GoogleAdmin
    } else if has(JAMF_PRO_MARKS) {
        DeviceFormat::JamfPro
    } else if has(GENERIC_MARKS) {
        DeviceFormat::Generic
    } else if has(JAMF_SCHOOL_MARKS) || table.headers.iter().any(|h| h == "SerialNumber" || h == "AssetTag") {
        DeviceFormat::JamfSchool
    } else {
        DeviceFormat::Generic
    }
}

/// One device of an inventory or MDM export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Row number in the file (header = 1).
    pub row: usize,
    /// Trimmed, full-width to ASCII, upper case (`DMPXK0A1B2C3`).
    pub serial_number: String,
    /// Model as written (`Model`, `機種名`, …), e.g. `iPad (9th generation)`.
    pub model: Option<String>,
    /// Report group of the model (`model_group`, 機種グループ), e.g. `iPad（小中）`; creates the model
    /// in the register when it is new.
    pub model_group: Option<String>,
    /// 学習者用 / 指導者用, from the class column (no vendor export has one).
    pub device_class: Option<DeviceClass>,
    /// From the status column; Google `ACTIVE` → deployed, `DEPROVISIONED`/`DISABLED` → retired;
    /// Google statuses without a counterpart (`INACTIVE`, `SHIPPED`, …) → `None`.
    pub status: Option<DeviceStatus>,
    /// From the school column; without one, the last 13-character code inside the org unit path
    /// or location (`/前橋市/B110210000017` → `B110210000017`).
    pub school_code: Option<SchoolCode>,
    /// Asset tag / `annotatedAssetId` / 資産管理番号 as written.
    pub asset_tag: Option<String>,
    /// Device name (`Device name`, Jamf `Name`, デバイス名) as written.
    pub device_name: Option<String>,
    /// OS version as written (`17.5.1`, `124.0.6367.225`).
    pub os_version: Option<String>,
    /// Last check-in / sync / inventory update as a date (timestamps with an offset are taken
    /// in Japan time).
    pub last_check_in: Option<NaiveDate>,
}

/// The rows of a device file, with the format they were read as.
pub struct DeviceRows<'a> {
    format: DeviceFormat,
    inner: Box<dyn Iterator<Item = Result<DeviceRecord, Vec<RowError>>> + Send + 'a>,
}

impl DeviceRows<'_> {
    /// The format detected from the headers.
    pub fn format(&self) -> DeviceFormat {
        self.format
    }
}

impl Iterator for DeviceRows<'_> {
    type Item = Result<DeviceRecord, Vec<RowError>>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

/// Reads a device file. Requires a serial-number column (else [`FileError::MissingColumns`]).
///
/// Each item is one data row: a record, or every error of that row (missing or malformed serial,
/// unknown class or status, bad school code, bad date). Rows are independent: a serial repeated on
/// a later row is found by the store's import (so that memory stays flat in the file's size).
pub fn read(table: &mut Table) -> Result<DeviceRows<'_>, FileError> {
    let Some(serial) = table.column(SERIAL_ALIASES) else {
        return Err(table.missing_columns(&[SERIAL_ALIASES]));
    };
    let format = detect(table);
    let cols = Columns {
        serial,
        model: table.column(MODEL),
        group: table.column(GROUP),
        class: table.column(CLASS),
        status: table.column(STATUS),
        school: table.column(SCHOOL),
        places: PLACE.iter().filter_map(|a| table.column(&[a])).collect(),
        asset: table.column(ASSET),
        name: table.column(NAME),
        os: table.column(OS),
        last: table.column(LAST),
    };
    let (file, headers) = (table.file.clone(), table.headers.clone());
    let inner = table.rows().map(move |raw| {
        let raw = raw.map_err(|e| vec![e])?;
        parse_row(&mut Cells::new(&file, &headers, &raw), &cols, format)
    });
    Ok(DeviceRows { format, inner: Box::new(inner) })
}

struct Columns {
    serial: usize,
    model: Option<usize>,
    group: Option<usize>,
    class: Option<usize>,
    status: Option<usize>,
    school: Option<usize>,
    places: Vec<usize>,
    asset: Option<usize>,
    name: Option<usize>,
    os: Option<usize>,
    last: Option<usize>,
}

fn parse_row(c: &mut Cells<'_>, cols: &Columns, format: DeviceFormat) -> Result<DeviceRecord, Vec<RowError>> {
    let serial_number = c.required(cols.serial, "シリアル番号", cell::serial);
    let device_class = c.optional(cols.class, |s| DeviceClass::parse(s).ok_or_else(|| CLASS_EXPECTED.to_string()));
    let status = c
        .optional(cols.status, |s| match DeviceStatus::parse(s) {
            Some(st) => Ok(Some(st)),
            None if format == DeviceFormat::GoogleAdmin
                && GOOGLE_OTHER_STATUSES.contains(&s.to_ascii_lowercase().as_str()) =>
            {
                Ok(None)
            }
            None => Err(STATUS_EXPECTED.to_string()),
        })
        .flatten();
    let school_code = match c.get(cols.school) {
        "" => cols.places.iter().find_map(|&p| cell::find_school_code(c.get(Some(p)))),
        _ => c.optional(cols.school, cell::school_code),
    };
    let last_check_in = c.optional(cols.last, cell::date);
    match serial_number {
        Some(serial_number) if c.errors.is_empty() => Ok(DeviceRecord {
            row: c.raw.row,
            serial_number,
            model: cell::text(c.get(cols.model)),
            model_group: cell::text(c.get(cols.group)),
            device_class,
            status,
            school_code,
            asset_tag: cell::text(c.get(cols.asset)),
            device_name: cell::text(c.get(cols.name)),
            os_version: cell::text(c.get(cols.os)),
            last_check_in,
        }),
        _ => Err(std::mem::take(&mut c.errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(headers: &[&str], rows: &[&[&str]]) -> Table {
        Table::from_rows(
            "devices.csv",
            headers.iter().map(|s| s.to_string()).collect(),
            rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect(),
        )
    }

    /// Intune "All devices → Export" headers, verbatim (reference/mdm-and-usage.md §4).
    const INTUNE: &str = "Device ID, Device name, Enrollment date, Last check-in, Azure AD Device ID, OS version, Azure AD registered, EAS activation ID, Serial number, Manufacturer, Model, EAS activated, IMEI, Last EAS sync time, EAS reason, EAS status, Compliance grace period expiration, Security patch level, Wi-Fi MAC, MEID, Subscriber carrier, Total storage, Free storage, Management name, Category, UserId, Primary user UPN, Primary user email address, Primary user display name, WiFiIPv4Address, WiFiSubnetID, Compliance, Managed by, Ownership, Device state, Intune registered, Supervised, Encrypted, OS, SkuFamily, JoinType, Phone number, Jailbroken, ICCID, EthernetMAC, CellularTechnology, ProcessorArchitecture, EID, SystemManagementBIOSVersion, TPMManufacturerId, TPMManufacturerVersion, ProductName, Management certificate expiration date";
    /// GAM / Directory API ChromeOS fields.
    const GAM: &str = "deviceId, serialNumber, status, lastSync, annotatedAssetId, annotatedUser, annotatedLocation, notes, orgUnitPath, model, osVersion, platformVersion, firmwareVersion, macAddress";
    /// A school's Google sheet export (NoSubstitute/CB_Inventory).
    const GOOGLE_SHEET: &str = "Serial Number, Org Unit Path, Location, AssetID, User, Notes, Most Recent User, OS Version, Last Sync, Status, MAC, AUE, Model";
    /// Jamf Pro Classic API mobile-device fields.
    const JAMF_PRO: &str = "Name, Display Name, Device Name, Asset Tag, UDID, Serial Number, Phone Number, IP Address, Model, Model Identifier, OS Type, OS Version, OS Build, Last Inventory Update Date";
    /// Jamf School API fields, flattened.
    const JAMF_SCHOOL: &str = "UDID, locationId, serialNumber, name, isManaged, isSupervised, class, assetTag, os.version, model.name, lastCheckin";

    fn headers(list: &str) -> Vec<&str> {
        list.split(", ").collect()
    }

    /// One row holding `values` under the named headers and "" elsewhere.
    fn row_for<'a>(hs: &[&str], values: &[(&str, &'a str)]) -> Vec<&'a str> {
        hs.iter().map(|h| values.iter().find(|(k, _)| k == h).map_or("", |(_, v)| *v)).collect()
    }

    fn read_one(hs: &[&str], values: &[(&str, &str)]) -> (DeviceFormat, Result<DeviceRecord, Vec<RowError>>) {
        let row = row_for(hs, values);
        let mut t = table(hs, &[&row]);
        let mut rows = read(&mut t).unwrap();
        (rows.format(), rows.next().unwrap())
    }

    #[test]
    fn intune_export() {
        let hs = headers(INTUNE);
        assert_eq!(hs.len(), 53);
        let (format, rec) = read_one(
            &hs,
            &[
                ("Serial number", " dmpxk0a1b2c3 "),
                ("Device name", "MAE-B1-0001"),
                ("Model", "iPad (9th generation)"),
                ("OS version", "17.5.1"),
                ("Last check-in", "2024-05-01 10:00:00.0000000"),
                ("Device state", "Active"),
            ],
        );
        assert_eq!(format, DeviceFormat::Intune);
        let r = rec.unwrap();
        assert_eq!(r.serial_number, "DMPXK0A1B2C3");
        assert_eq!(r.device_name.as_deref(), Some("MAE-B1-0001"));
        assert_eq!(r.model.as_deref(), Some("iPad (9th generation)"));
        assert_eq!(r.os_version.as_deref(), Some("17.5.1"));
        assert_eq!(r.last_check_in, NaiveDate::from_ymd_opt(2024, 5, 1));
        assert_eq!(r.status, None);
    }

    #[test]
    fn google_gam_export() {
        let hs = headers(GAM);
        let (format, rec) = read_one(
            &hs,
            &[
                ("serialNumber", "5cd1234xyz"),
                ("status", "ACTIVE"),
                ("lastSync", "2024-05-01T20:00:00.000Z"),
                ("annotatedAssetId", "MAE-0001"),
                ("orgUnitPath", "/前橋市/B110210000017/児童"),
                ("model", "Lenovo 300e"),
                ("osVersion", "124.0"),
            ],
        );
        assert_eq!(format, DeviceFormat::GoogleAdmin);
        let r = rec.unwrap();
        assert_eq!(r.serial_number, "5CD1234XYZ");
        assert_eq!(r.status, Some(DeviceStatus::Deployed));
        assert_eq!(r.last_check_in, NaiveDate::from_ymd_opt(2024, 5, 2));
        assert_eq!(r.asset_tag.as_deref(), Some("MAE-0001"));
        assert_eq!(r.school_code.unwrap().as_str(), "B110210000017");
        assert_eq!(r.os_version.as_deref(), Some("124.0"));

        for (status, want) in [
            ("DEPROVISIONED", Some(DeviceStatus::Retired)),
            ("DISABLED", Some(DeviceStatus::Retired)),
            ("INACTIVE", None),
        ] {
            let (_, rec) = read_one(&hs, &[("serialNumber", "A1"), ("status", status)]);
            assert_eq!(rec.unwrap().status, want, "{status}");
        }
        let (_, rec) = read_one(&hs, &[("serialNumber", "A1"), ("status", "BROKEN")]);
        assert_eq!(rec.unwrap_err()[0].column, "status");
    }

    #[test]
    fn google_sheet_export() {
        let hs = headers(GOOGLE_SHEET);
        let (format, rec) = read_one(
            &hs,
            &[
                ("Serial Number", "NXH1"),
                ("Org Unit Path", "/前橋市/C110210000131"),
                ("AssetID", "T-9"),
                ("Status", "DEPROVISIONED"),
                ("Last Sync", "2024/05/01 10:00"),
            ],
        );
        assert_eq!(format, DeviceFormat::GoogleAdmin);
        let r = rec.unwrap();
        assert_eq!(r.school_code.unwrap().as_str(), "C110210000131");
        assert_eq!(r.asset_tag.as_deref(), Some("T-9"));
        assert_eq!(r.status, Some(DeviceStatus::Retired));
        assert_eq!(r.last_check_in, NaiveDate::from_ymd_opt(2024, 5, 1));
    }

    #[test]
    fn jamf_exports() {
        let hs = headers(JAMF_PRO);
        let (format, rec) = read_one(
            &hs,
            &[
                ("Serial Number", "DMQ1"),
                ("Name", "前橋桃井-01"),
                ("Asset Tag", "A-1"),
                ("Last Inventory Update Date", "2024-04-30 08:00:00"),
            ],
        );
        assert_eq!(format, DeviceFormat::JamfPro);
        let r = rec.unwrap();
        assert_eq!(r.device_name.as_deref(), Some("前橋桃井-01"));
        assert_eq!(r.asset_tag.as_deref(), Some("A-1"));
        assert_eq!(r.last_check_in, NaiveDate::from_ymd_opt(2024, 4, 30));

        let hs = headers(JAMF_SCHOOL);
        let (format, rec) =
            read_one(&hs, &[("serialNumber", "DMQ2"), ("assetTag", "A-2"), ("lastCheckin", "2024-05-01T01:00:00Z")]);
        assert_eq!(format, DeviceFormat::JamfSchool);
        assert_eq!(rec.unwrap().asset_tag.as_deref(), Some("A-2"));

        let t = table(&["SerialNumber", "Identification", "AssetTag"], &[&["X", "Y", "Z"]]);
        assert_eq!(detect(&t), DeviceFormat::JamfSchool);
    }

    #[test]
    fn generic_and_japanese_headers() {
        let mut t = table(
            &["serial_number", "model", "device_class", "status", "school_code", "asset_tag"],
            &[&["a1", "iPad", "learner", "spare", "B110210000017", "T1"]],
        );
        let mut rows = read(&mut t).unwrap();
        assert_eq!(rows.format(), DeviceFormat::Generic);
        let r = rows.next().unwrap().unwrap();
        assert_eq!((r.device_class, r.status), (Some(DeviceClass::Learner), Some(DeviceStatus::Spare)));

        let mut t = table(
            &[
                "シリアル番号",
                "機種名",
                "端末区分",
                "状態",
                "学校コード",
                "資産管理番号",
                "デバイス名",
                "OSバージョン",
                "最終同期",
            ],
            &[&["ｄｍｐ１", "iPad", "指導者用", "配置済", "B110210000017", "前-1", "桃井-1", "17.5", "2024/5/1"]],
        );
        let mut rows = read(&mut t).unwrap();
        let r = rows.next().unwrap().unwrap();
        assert_eq!(r.serial_number, "DMP1");
        assert_eq!(r.model.as_deref(), Some("iPad"));
        assert_eq!(r.device_class, Some(DeviceClass::Teacher));
        assert_eq!(r.status, Some(DeviceStatus::Deployed));
        assert_eq!(r.school_code.unwrap().as_str(), "B110210000017");
        assert_eq!(r.asset_tag.as_deref(), Some("前-1"));
        assert_eq!(r.device_name.as_deref(), Some("桃井-1"));
        assert_eq!(r.os_version.as_deref(), Some("17.5"));
        assert_eq!(r.last_check_in, NaiveDate::from_ymd_opt(2024, 5, 1));
    }

    #[test]
    fn bad_cells_are_all_reported() {
        let mut t = table(
            &["serial_number", "device_class", "status", "school_code", "last_check_in"],
            &[
                &["abc1", "", "", "", ""],
                &["ABC2", "", "", "", ""],
                &[" Abc3 ", "pupil", "broken", "B1102", "yesterday"],
                &["", "", "", "", ""],
                &["", "learner", "", "", ""],
            ],
        );
        let rows: Vec<_> = read(&mut t).unwrap().collect();
        assert_eq!(rows.len(), 4, "the blank row is skipped");
        assert!(rows[0].is_ok() && rows[1].is_ok());
        let errs = rows[2].as_ref().unwrap_err();
        let cols: Vec<&str> = errs.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(cols, ["device_class", "status", "school_code", "last_check_in"]);
        let errs = rows[3].as_ref().unwrap_err();
        assert_eq!(errs[0].to_string(), "devices.csv:6:serial_number:  — 必須: シリアル番号");
    }

    #[test]
    fn missing_serial_column() {
        let mut t = table(&["Device name", "Model"], &[&["x", "y"]]);
        let err = read(&mut t).err().unwrap();
        assert!(matches!(&err, FileError::MissingColumns { missing, .. } if missing[0].contains("シリアル番号")));
        assert!(err.to_string().contains("Device name, Model"), "{err}");
    }

    proptest! {
        #[test]
        fn arbitrary_cells_never_panic(cells in proptest::collection::vec("\\PC{0,20}", 14)) {
            for list in [GAM, INTUNE] {
                let hs = headers(list);
                let mut t = Table::from_rows("x.csv", hs.iter().map(|s| s.to_string()).collect(), vec![cells.clone()]);
                for r in read(&mut t).unwrap() {
                    if let Err(errs) = r { prop_assert!(!errs.is_empty()); }
                }
            }
        }

        #[test]
        fn serials_come_out_upper_case(s in "[a-zA-Z0-9]{1,20}") {
            let mut t = table(&["Serial number"], &[&[&format!(" {s} ")]]);
            let r = read(&mut t).unwrap().next().unwrap().unwrap();
            prop_assert_eq!(r.serial_number, s.to_ascii_uppercase());
        }
    }
}
