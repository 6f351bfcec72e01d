//! Roster's directory core: users, departments, credentials and the rules that govern
//! them, behind the [`Store`] trait. Nothing here knows HTTP, JSON-RPC or SQL; the faces
//! (Bitrix24, Zabbix) translate wire formats into these types and back.

pub mod accounts;
pub mod attrs;
pub mod audit;
pub mod credentials;
pub mod department;
pub mod directory;
pub mod error;
pub mod events;
pub mod groups;
pub mod ids;
pub mod limits;
pub mod media;
pub mod oauth;
pub mod query;
pub mod sessions;
pub mod settings;
pub mod store;
pub mod user;
pub mod userfields;

pub use accounts::{AccountWrite, NewAccount};
pub use attrs::{Attr, AttrId, AttrKind, ATTRS};
pub use credentials::{Scopes, Webhook};
pub use department::{Department, DepartmentPatch, DepartmentQuery, NewDepartment};
pub use directory::{Actor, AuthError, BootstrapReport, Credential, Directory};
pub use error::{CoreError, CoreResult};
pub use groups::{NewUserGroup, Role, RoleType, UserGroup, UserGroupPatch};
pub use ids::{
    DepartmentId, EnumItemId, FieldId, FileId, GroupId, MediaId, MediaTypeId, RoleId, TokenId, UserId, WebhookId,
};
pub use media::{Media, MediaType, MediaWrite};
pub use query::{Cond, Direction, Filter, Op, Page, SortKey, UserPage, UserQuery};
pub use sessions::{Access, ApiToken, ApiTokenPatch, NewApiToken, Session, TokenQuery};
pub use settings::{PasswordPolicy, Settings};
pub use store::{Bootstrap, FileRef, Store, StoreError, StoreResult, StoredFile};
pub use user::{Change, FileUpload, NewUser, User, UserPatch, UserType, Value};
pub use userfields::{CustomChange, CustomValue, FieldType, NewUserField, UserField, UserFieldPatch};
