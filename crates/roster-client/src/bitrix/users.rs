//! Typed Bitrix24 user methods: `user.current/get/search/add/update/fields` and the
//! `user.userfield.*` family. Each returns the useful part of `result` and maps an error
//! answer to [`Error::Api`]. Anything else goes through `Bitrix24::call` (the raw call).

use serde_json::Value;

use super::Bitrix24;
use crate::{Error, Map};

fn one(key: &str, v: impl Into<Value>) -> Map {
    let mut m = Map::new();
    m.insert(key.into(), v.into());
    m
}

fn shape(method: &str, detail: &str) -> Error {
    Error::Shape { method: method.into(), detail: detail.into() }
}

impl Bitrix24 {
    /// `user.current`: the user the webhook or token acts as.
    pub async fn user_current(&self) -> Result<Value, Error> {
        Ok(self.call("user.current", &Map::new()).await?.result)
    }

    /// `user.get` by ID; `None` when no such user is visible.
    pub async fn user_get(&self, id: i64) -> Result<Option<Value>, Error> {
        let env = self.call("user.get", &one("ID", id)).await?;
        Ok(env.result.as_array().and_then(|rows| rows.first().cloned()))
    }

    /// `user.get` with a `FILTER`, every page. Filter keys take Bitrix24's operator
    /// prefixes (`>ID`, `%NAME`, `!ACTIVE`...).
    pub async fn user_find(&self, filter: Map) -> Result<Vec<Value>, Error> {
        let mut p = one("FILTER", Value::Object(filter));
        p.insert("SORT".into(), "ID".into());
        p.insert("ORDER".into(), "ASC".into());
        self.list("user.get", &p).await
    }

    /// `user.search` with a `FILTER` (also `FIND` for a quick search), every page.
    pub async fn user_search(&self, filter: Map) -> Result<Vec<Value>, Error> {
        self.list("user.search", &one("FILTER", Value::Object(filter))).await
    }

    /// `user.add` with top-level fields; returns the new ID.
    pub async fn user_add(&self, fields: Map) -> Result<i64, Error> {
        let env = self.call("user.add", &fields).await?;
        env.result
            .as_i64()
            .or_else(|| env.result.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| shape("user.add", "result is not an ID"))
    }

    /// `user.update` of `id` with top-level fields (only the fields sent change).
    pub async fn user_update(&self, id: i64, fields: Map) -> Result<(), Error> {
        let mut p = fields;
        p.insert("ID".into(), id.into());
        self.call("user.update", &p).await?;
        Ok(())
    }

    /// `user.fields`: field code → caption.
    pub async fn user_fields(&self) -> Result<Map, Error> {
        match self.call("user.fields", &Map::new()).await?.result {
            Value::Object(m) => Ok(m),
            _ => Err(shape("user.fields", "result is not an object")),
        }
    }

    /// `user.userfield.list` with an optional filter (not paginated by the portal).
    pub async fn userfield_list(&self, filter: Option<Map>) -> Result<Vec<Value>, Error> {
        let p = filter.map(|f| one("filter", Value::Object(f))).unwrap_or_default();
        match self.call("user.userfield.list", &p).await?.result {
            Value::Array(rows) => Ok(rows),
            _ => Err(shape("user.userfield.list", "result is not a list")),
        }
    }

    /// `user.userfield.add` with `fields` (`FIELD_NAME`, `USER_TYPE_ID`, ...); returns the ID.
    pub async fn userfield_add(&self, fields: Map) -> Result<i64, Error> {
        let env = self.call("user.userfield.add", &one("fields", Value::Object(fields))).await?;
        env.result
            .as_i64()
            .or_else(|| env.result.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| shape("user.userfield.add", "result is not an ID"))
    }

    /// `user.userfield.update` of field `id`.
    pub async fn userfield_update(&self, id: i64, fields: Map) -> Result<(), Error> {
        let mut p = one("id", id);
        p.insert("fields".into(), Value::Object(fields));
        self.call("user.userfield.update", &p).await?;
        Ok(())
    }

    /// `user.userfield.delete` of field `id` (all users' values of it go too).
    pub async fn userfield_delete(&self, id: i64) -> Result<(), Error> {
        self.call("user.userfield.delete", &one("id", id)).await?;
        Ok(())
    }
}
