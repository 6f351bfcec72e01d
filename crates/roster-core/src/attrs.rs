//! The catalog of user attributes stored as columns: their storage names, kinds and
//! order. Faces map their wire names onto these; backends derive their SQL from them.
//! Departments, the user type and custom (UF_USR_*) fields live outside this table.

/// How an attribute's value is typed and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    Text,
    Bool,
    /// A calendar date, stored as `YYYY-MM-DD`.
    Date,
    /// A point in time, stored as Unix seconds.
    DateTime,
    /// A reference to a stored file (photo, logo).
    File,
    /// A whole number.
    Int,
}

/// One user attribute.
#[derive(Debug)]
pub struct Attr {
    /// Storage name, also the column name: lower-case ASCII, never user input.
    pub name: &'static str,
    pub kind: AttrKind,
    /// Written only by the directory itself (registration time, timestamps).
    pub system: bool,
    /// Kept with a lower-cased shadow (`<name>_lc`) for case-insensitive prefix search.
    pub searchable: bool,
}

const fn text(name: &'static str) -> Attr {
    Attr { name, kind: AttrKind::Text, system: false, searchable: false }
}
const fn search(name: &'static str) -> Attr {
    Attr { name, kind: AttrKind::Text, system: false, searchable: true }
}
const fn of(name: &'static str, kind: AttrKind) -> Attr {
    Attr { name, kind, system: false, searchable: false }
}
const fn system(name: &'static str, kind: AttrKind) -> Attr {
    Attr { name, kind, system: true, searchable: false }
}

/// Every column attribute, in the order Bitrix24 lists user fields.
pub static ATTRS: &[Attr] = &[
    text("xml_id"),
    of("active", AttrKind::Bool),
    search("name"),
    search("last_name"),
    search("second_name"),
    text("title"),
    search("email"),
    system("last_login", AttrKind::DateTime),
    system("date_register", AttrKind::DateTime),
    text("time_zone"),
    system("timestamp_x", AttrKind::DateTime),
    system("last_activity_date", AttrKind::DateTime),
    text("personal_gender"),
    text("personal_profession"),
    text("personal_www"),
    of("personal_birthday", AttrKind::Date),
    of("personal_photo", AttrKind::File),
    text("personal_icq"),
    text("personal_phone"),
    text("personal_fax"),
    text("personal_mobile"),
    text("personal_pager"),
    text("personal_street"),
    text("personal_city"),
    text("personal_state"),
    text("personal_zip"),
    text("personal_country"),
    text("personal_mailbox"),
    text("personal_notes"),
    text("work_phone"),
    text("work_company"),
    search("work_position"),
    text("work_department"),
    text("work_www"),
    text("work_fax"),
    text("work_pager"),
    text("work_street"),
    text("work_mailbox"),
    text("work_city"),
    text("work_state"),
    text("work_zip"),
    text("work_country"),
    text("work_profile"),
    of("work_logo", AttrKind::File),
    text("work_notes"),
    text("uf_skype_link"),
    text("uf_zoom"),
    of("uf_employment_date", AttrKind::Date),
    text("uf_interests"),
    text("uf_skills"),
    text("uf_web_sites"),
    text("uf_xing"),
    text("uf_linkedin"),
    text("uf_facebook"),
    text("uf_twitter"),
    text("uf_skype"),
    text("uf_district"),
    text("uf_phone_inner"),
    // Zabbix user columns (the Bitrix24 face has its own field list and shows none of them).
    text("url"),
    of("autologin", AttrKind::Int),
    text("autologout"),
    text("lang"),
    text("refresh"),
    text("theme"),
    of("rows_per_page", AttrKind::Int),
    text("timezone"),
    of("roleid", AttrKind::Int),
    system("attempt_failed", AttrKind::Int),
    system("attempt_ip", AttrKind::Text),
    system("attempt_clock", AttrKind::Int),
];

/// Index of an attribute in [`ATTRS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrId(u16);

impl AttrId {
    pub fn by_name(name: &str) -> Option<AttrId> {
        ATTRS.iter().position(|a| a.name == name).map(|i| AttrId(i as u16))
    }

    /// Like [`AttrId::by_name`] but for names fixed in code; panics on a typo, which tests catch.
    pub fn named(name: &'static str) -> AttrId {
        match Self::by_name(name) {
            Some(id) => id,
            None => panic!("no user attribute named {name}"),
        }
    }

    pub fn attr(self) -> &'static Attr {
        &ATTRS[self.0 as usize]
    }

    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn all() -> impl Iterator<Item = AttrId> {
        (0..ATTRS.len()).map(|i| AttrId(i as u16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase_identifiers() {
        for (i, a) in ATTRS.iter().enumerate() {
            assert!(a.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", a.name);
            assert_eq!(AttrId::by_name(a.name).map(AttrId::index), Some(i), "{}", a.name);
        }
    }
}
