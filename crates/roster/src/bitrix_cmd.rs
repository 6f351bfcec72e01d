//! `roster bitrix24 <Method>`: OpenIntegrations' `oint bitrix24` user commands, same
//! names, options and request shapes (the shapes live in `roster_client::oint`), plus the
//! user-field commands in the same style. Output is the server's JSON; an API error also
//! exits non-zero with a one-line summary on stderr. Method names are case-insensitive.

use std::ffi::OsString;

use clap::{Args, Subcommand};
use roster_client::{oint, Call};

use crate::conn::{json_object_arg, parse_bool, BitrixConn, OutArgs};

/// Connection and output options of every oint command.
#[derive(Debug, Clone, Args)]
pub struct Common {
    #[command(flatten)]
    pub conn: BitrixConn,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Debug, Subcommand)]
#[command(arg_required_else_help = true)]
pub enum Bitrix24Command {
    /// Get current user data (user.current).
    #[command(name = "GetCurrentUser")]
    GetCurrentUser(Common),
    /// Get a user by ID (user.get {"ID"}).
    #[command(name = "GetUser")]
    GetUser {
        /// User ID.
        #[arg(long)]
        userid: String,
        #[command(flatten)]
        common: Common,
    },
    /// Create a user (user.add with the fields at the top level).
    #[command(name = "CreateUser")]
    CreateUser {
        /// New user data: JSON, single-quoted JSON or a .json file (see GetUserFieldsStructure).
        #[arg(long)]
        fields: String,
        #[command(flatten)]
        common: Common,
    },
    /// Update a user (user.update with the fields and "ID").
    #[command(name = "UpdateUser")]
    UpdateUser {
        /// User ID.
        #[arg(long)]
        userid: String,
        /// New user data: JSON, single-quoted JSON or a .json file (see GetUserFieldsStructure).
        #[arg(long)]
        fields: String,
        #[command(flatten)]
        common: Common,
    },
    /// Deactivate (fire, the default) or activate a user (user.update with ACTIVE).
    #[command(name = "ChangeUserStatus")]
    ChangeUserStatus {
        /// User ID.
        #[arg(long)]
        userid: String,
        /// true: deactivate; false: activate.
        #[arg(long, default_value = "true", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
        fire: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Find users by a filter (user.search {"FILTER"}).
    #[command(name = "FindUsers")]
    FindUsers {
        /// Filter: JSON, single-quoted JSON or a .json file (see GetUserFilterStructure).
        #[arg(long)]
        filter: String,
        #[command(flatten)]
        common: Common,
    },
    /// The user fields and their captions (user.fields).
    #[command(name = "GetUserFieldsStructure")]
    GetUserFieldsStructure(Common),
    /// The filter template for FindUsers (local; sends nothing).
    #[command(name = "GetUserFilterStructure")]
    GetUserFilterStructure {
        /// true: empty values instead of descriptions.
        #[arg(long, default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
        empty: bool,
        #[command(flatten)]
        out: OutArgs,
    },
    /// List custom user fields (user.userfield.list).
    #[command(name = "GetCustomUserFieldsList")]
    GetCustomUserFieldsList {
        /// Optional filter: JSON, single-quoted JSON or a .json file.
        #[arg(long)]
        filter: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Add a custom user field (user.userfield.add {"fields"}).
    #[command(name = "AddCustomUserField")]
    AddCustomUserField {
        /// FIELD_NAME, USER_TYPE_ID, LABEL, ...: JSON, single-quoted JSON or a .json file.
        #[arg(long)]
        fields: String,
        #[command(flatten)]
        common: Common,
    },
    /// Change a custom user field (user.userfield.update {"id", "fields"}).
    #[command(name = "UpdateCustomUserField")]
    UpdateCustomUserField {
        /// Field ID.
        #[arg(long)]
        fieldid: String,
        /// Settings to change: JSON, single-quoted JSON or a .json file.
        #[arg(long)]
        fields: String,
        #[command(flatten)]
        common: Common,
    },
    /// Delete a custom user field and every user's value of it (user.userfield.delete).
    #[command(name = "DeleteCustomUserField")]
    DeleteCustomUserField {
        /// Field ID.
        #[arg(long)]
        fieldid: String,
        #[command(flatten)]
        common: Common,
    },
}

/// The command names, for case-insensitive matching.
const NAMES: [&str; 12] = [
    "GetCurrentUser",
    "GetUser",
    "CreateUser",
    "UpdateUser",
    "ChangeUserStatus",
    "FindUsers",
    "GetUserFieldsStructure",
    "GetUserFilterStructure",
    "GetCustomUserFieldsList",
    "AddCustomUserField",
    "UpdateCustomUserField",
    "DeleteCustomUserField",
];

/// oint's method names are case-insensitive: `roster bitrix24 updateuser` is `UpdateUser`.
pub fn canonical_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == "bitrix24") {
        if let Some(name) = args.get(2).and_then(|a| a.to_str()) {
            if let Some(canon) = NAMES.iter().find(|n| n.eq_ignore_ascii_case(name)) {
                args[2] = OsString::from(canon);
            }
        }
    }
    args
}

pub async fn run(cmd: Bitrix24Command) -> anyhow::Result<()> {
    use Bitrix24Command as C;
    let (call, common) = match cmd {
        C::GetUserFilterStructure { empty, out } => return out.json(&oint::user_filter_structure(empty)),
        C::GetCurrentUser(common) => (oint::get_current_user(), common),
        C::GetUser { userid, common } => (oint::get_user(&userid), common),
        C::CreateUser { fields, common } => (oint::create_user(&json_object_arg("--fields", &fields)?), common),
        C::UpdateUser { userid, fields, common } => {
            (oint::update_user(&userid, &json_object_arg("--fields", &fields)?), common)
        }
        C::ChangeUserStatus { userid, fire, common } => (oint::change_user_status(&userid, fire), common),
        C::FindUsers { filter, common } => (oint::find_users(&json_object_arg("--filter", &filter)?), common),
        C::GetUserFieldsStructure(common) => (oint::get_user_fields_structure(), common),
        C::GetCustomUserFieldsList { filter, common } => {
            let filter = filter.map(|f| json_object_arg("--filter", &f)).transpose()?;
            (oint::get_custom_user_fields_list(filter.as_ref()), common)
        }
        C::AddCustomUserField { fields, common } => {
            (oint::add_custom_user_field(&json_object_arg("--fields", &fields)?), common)
        }
        C::UpdateCustomUserField { fieldid, fields, common } => {
            (oint::update_custom_user_field(&fieldid, &json_object_arg("--fields", &fields)?), common)
        }
        C::DeleteCustomUserField { fieldid, common } => (oint::delete_custom_user_field(&fieldid), common),
    };
    send(&call, &common.conn, &common.out).await
}

/// Sends one call, prints the server's JSON, and fails (after printing) on an API error.
pub async fn send(call: &Call, conn: &BitrixConn, out: &OutArgs) -> anyhow::Result<()> {
    let client = conn.client()?;
    out.request(&client.shown_url(&call.method), &client.request_body(&call.params))?;
    if out.test {
        return Ok(());
    }
    let reply = client.send(&call.method, &call.params).await?;
    out.reply(&reply)?;
    client.read_reply(&call.method, reply)?;
    Ok(())
}
