//! Contract cases for `find_users`: every filter operator (case-insensitive LIKE and
//! prefixes in Cyrillic, escapes, NULLs under negation, departments, quick search,
//! visibility), byte-wise ordering with ties by id, NULLs first, offset, limit and count.

use chrono::NaiveDate;
use roster_core::query::{Cond, Direction, Filter, Op, SortKey, UserQuery};
use roster_core::{DepartmentId, NewUser, Store, UserId, Value};

use crate::fixtures::{attr, create, dept, ids, on, ordered, patch, text};
use crate::harness::Env;

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

async fn person(s: &dyn Store, login: &str, depts: Vec<DepartmentId>, values: &[(&'static str, Value)]) -> UserId {
    let mut p = patch(values);
    p.departments = Some(depts);
    let user = NewUser { login: login.into(), password_hash: None, is_admin: false, patch: p };
    s.create_user(user).await.unwrap()
}

/// Ivan, Olga, John and Anna, and the departments Sales and Development (in Russian).
async fn people(s: &dyn Store) -> ([UserId; 4], [DepartmentId; 2]) {
    let sales = dept(s, "Продажи", 1, None).await;
    let dev = dept(s, "Разработка", 2, None).await;
    let ivan = person(
        s,
        "ivan",
        vec![sales],
        &[
            ("name", text("Иван")),
            ("last_name", text("Петров")),
            ("personal_city", text("Москва")),
            ("email", text("ivan@x.ru")),
            ("active", Value::Bool(true)),
            ("personal_birthday", date(1990, 5, 1)),
            ("work_position", text("Инженер")),
        ],
    )
    .await;
    let olga = person(
        s,
        "olga",
        vec![dev],
        &[
            ("name", text("Ольга")),
            ("last_name", text("иванова")),
            ("personal_city", text("Санкт-Петербург")),
            ("email", text("OLGA@x.ru")),
            ("active", Value::Bool(false)),
            ("personal_birthday", date(1985, 1, 10)),
        ],
    )
    .await;
    let john = person(
        s,
        "John",
        vec![],
        &[
            ("name", text("John")),
            ("last_name", text("Smith")),
            ("email", text("")),
            ("active", Value::Bool(true)),
            ("title", text("50%_off")),
        ],
    )
    .await;
    let anna = person(
        s,
        "anna",
        vec![dev, sales],
        &[
            ("name", text("anna")),
            ("last_name", text("Ivanov")),
            ("personal_city", text("")),
            ("active", Value::Bool(true)),
            ("personal_birthday", date(2000, 12, 31)),
            ("title", text("50xyoff")),
        ],
    )
    .await;
    ([ivan, olga, john, anna], [sales, dev])
}

/// Runs every `(label, condition, expected ids)` and reports all mismatches at once.
async fn expect_all(s: &dyn Store, cases: &[(&str, Cond, &[UserId])]) {
    let mut wrong = Vec::new();
    for (label, cond, want) in cases {
        let got = ids(s, vec![cond.clone()]).await;
        if got != *want {
            wrong.push(format!("{label}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn attr_is(name: &'static str, op: Op, values: Vec<Value>) -> Cond {
    Cond::Attr { attr: attr(name), op, values }
}

fn login(op: Op, value: &str) -> Cond {
    Cond::Login { op, values: vec![value.to_owned()] }
}

pub async fn text_operators(env: Env) {
    let s = &*env.store;
    let ([ivan, olga, john, anna], _) = people(s).await;
    let all = [ivan, olga, john, anna];
    expect_all(
        s,
        &[
            ("like, shadow equal", on("name", Op::Like, &["иван"]), &[ivan]),
            ("like, shadow prefix", on("name", Op::Like, &["ИВ%"]), &[ivan]),
            ("like, inner wildcard", on("name", Op::Like, &["%ЛЬ%"]), &[olga]),
            ("like, one-character wildcard", on("name", Op::Like, &["_ВАН"]), &[ivan]),
            ("like, values or-ed", on("name", Op::Like, &["иван", "ОЛЬГА"]), &[ivan, olga]),
            ("like, no values", on("name", Op::Like, &[]), &[]),
            ("like, no shadow", on("personal_city", Op::Like, &["москва"]), &[ivan]),
            ("like, no shadow, prefix", on("personal_city", Op::Like, &["САНКТ%"]), &[olga]),
            ("like, escaped wildcards", on("title", Op::Like, &["50\\%\\_off"]), &[john]),
            ("like, wildcard", on("title", Op::Like, &["50%off"]), &[john, anna]),
            ("like, lone trailing escape", on("title", Op::Like, &["50\\"]), &[]),
            ("like, e-mail case", on("email", Op::Like, &["olga@X.RU"]), &[olga]),
            ("not like keeps NULL", on("title", Op::NotLike, &["50\\"]), &all),
            ("not like", on("name", Op::NotLike, &["иван"]), &[olga, john, anna]),
            ("not like, NULL city", on("personal_city", Op::NotLike, &["москва"]), &[olga, john, anna]),
            ("not like, no values", on("name", Op::NotLike, &[]), &all),
            ("contains", on("personal_city", Op::Contains, &["ПЕТЕР"]), &[olga]),
            ("contains wildcards literally", on("title", Op::Contains, &["%_"]), &[john]),
            ("not contains keeps NULL", on("title", Op::NotContains, &["off"]), &[ivan, olga]),
            ("starts with, shadow, Cyrillic", on("last_name", Op::StartsWith, &["ИВ"]), &[olga]),
            ("starts with, shadow, Latin", on("last_name", Op::StartsWith, &["iv"]), &[anna]),
            ("starts with, no shadow", on("personal_city", Op::StartsWith, &["санкт-"]), &[olga]),
            ("starts with a literal %", on("title", Op::StartsWith, &["50%"]), &[john]),
            ("is empty: NULL or ''", on("personal_city", Op::IsEmpty, &[]), &[john, anna]),
            ("not empty", on("personal_city", Op::NotEmpty, &[]), &[ivan, olga]),
            ("equal is case-sensitive", on("name", Op::Eq, &["иван"]), &[]),
            ("equal", on("name", Op::Eq, &["Иван"]), &[ivan]),
            ("equal, several", on("name", Op::Eq, &["John", "anna"]), &[john, anna]),
            ("not equal keeps NULL", on("personal_city", Op::Ne, &["Москва"]), &[olga, john, anna]),
            ("less than, byte order", on("name", Op::Lt, &["a"]), &[john]),
            ("between, byte order", on("last_name", Op::Between, &["A", "Z"]), &[john, anna]),
            ("login equal is exact", login(Op::Eq, "John"), &[john]),
            ("login equal, other case", login(Op::Eq, "john"), &[]),
            ("login like", login(Op::Like, "JO%"), &[john]),
            ("login like suffix", login(Op::Like, "%N"), &[ivan, john]),
            ("login not like", login(Op::NotLike, "%n"), &[olga, anna]),
            ("login not equal", login(Op::Ne, "ivan"), &[olga, john, anna]),
        ],
    )
    .await;
}

pub async fn typed_operators(env: Env) {
    let s = &*env.store;
    let ([ivan, olga, john, anna], _) = people(s).await;
    let all = [ivan, olga, john, anna];
    let born = |op: Op, dates: Vec<Value>| attr_is("personal_birthday", op, dates);
    let id = |op: Op, users: &[UserId]| Cond::Id { op, values: users.iter().map(|u| u.get()).collect() };
    let active = |op: Op| attr_is("active", op, vec![Value::Bool(true)]);
    expect_all(
        s,
        &[
            ("bool equal", active(Op::Eq), &[ivan, john, anna]),
            ("bool not equal", active(Op::Ne), &[olga]),
            ("date greater", born(Op::Gt, vec![date(1988, 1, 1)]), &[ivan, anna]),
            ("date between", born(Op::Between, vec![date(1984, 1, 1), date(1991, 1, 1)]), &[ivan, olga]),
            ("date at most", born(Op::Le, vec![date(1985, 1, 10)]), &[olga]),
            ("date at least", born(Op::Ge, vec![date(1990, 5, 1)]), &[ivan, anna]),
            ("date less", born(Op::Lt, vec![date(1990, 5, 1)]), &[olga]),
            ("date is empty", born(Op::IsEmpty, vec![]), &[john]),
            ("date not empty", born(Op::NotEmpty, vec![]), &[ivan, olga, anna]),
            ("date not equal keeps NULL", born(Op::Ne, vec![date(1990, 5, 1)]), &[olga, john, anna]),
            ("date in", born(Op::Eq, vec![date(1990, 5, 1), date(1985, 1, 10)]), &[ivan, olga]),
            ("date, no values", born(Op::Eq, vec![]), &[]),
            ("date not in, no values", born(Op::Ne, vec![]), &all),
            ("datetime", attr_is("date_register", Op::Ge, vec![Value::DateTime(0)]), &all),
            ("id greater", id(Op::Gt, &[olga]), &[john, anna]),
            ("id in", id(Op::Eq, &[ivan, anna]), &[ivan, anna]),
            ("id not in", id(Op::Ne, &[ivan]), &[olga, john, anna]),
            ("id between", id(Op::Between, &[olga, john]), &[olga, john]),
            ("id, no values", id(Op::Eq, &[]), &[]),
            ("id not in, no values", id(Op::Ne, &[]), &all),
            ("never", Cond::Never, &[]),
        ],
    )
    .await;
    assert_eq!(ids(s, vec![]).await, all, "no conditions");
    let both = vec![on("title", Op::Like, &["50%"]), Cond::HasDepartment(true)];
    assert_eq!(ids(s, both).await, [anna], "conditions are and-ed");
}

pub async fn department_and_search_conditions(env: Env) {
    let s = &*env.store;
    let ([ivan, olga, john, anna], [sales, dev]) = people(s).await;
    let all = [ivan, olga, john, anna];
    let member = |any_of: &[DepartmentId], negate: bool| Cond::Department {
        any_of: any_of.iter().map(|d| d.get()).collect(),
        negate,
    };
    let find = |words: &[&str]| Cond::Find(words.iter().map(|w| w.to_string()).collect());
    let dept_name = |prefix: &str| Cond::DepartmentName(prefix.to_owned());
    let john_id = john.get().to_string();
    expect_all(
        s,
        &[
            ("member of", member(&[sales], false), &[ivan, anna]),
            ("member of either", member(&[sales, dev], false), &[ivan, olga, anna]),
            ("not member of", member(&[sales], true), &[olga, john]),
            ("member of none listed", member(&[], false), &[]),
            ("not member of none listed", member(&[], true), &all),
            ("employees", Cond::HasDepartment(true), &[ivan, olga, anna]),
            ("extranet", Cond::HasDepartment(false), &[john]),
            ("department name prefix", dept_name("прод"), &[ivan, anna]),
            ("department name, other case", dept_name("РАЗ"), &[olga, anna]),
            ("department name, literal %", dept_name("про%"), &[]),
            ("department name, empty", dept_name(""), &[ivan, olga, anna]),
            ("visible to an extranet user", Cond::VisibleTo(john.get()), &all),
            ("visible to an employee", Cond::VisibleTo(ivan.get()), &[ivan, olga, anna]),
            ("find by name prefix", find(&["ив"]), &[ivan, olga]),
            ("find, every word", find(&["иван", "ПЕТР"]), &[ivan]),
            ("find by id", find(&[&john_id]), &[john]),
            ("find by department", find(&["разр"]), &[olga, anna]),
            ("find by position", find(&["ИНЖ"]), &[ivan]),
            ("find, no words", find(&[]), &all),
            ("find, nothing", find(&["zzz"]), &[]),
        ],
    )
    .await;
}

pub async fn ordering_and_paging(env: Env) {
    let s = &*env.store;
    let d = dept(s, "D", 1, None).await;
    let (yes, no) = (Value::Bool(true), Value::Bool(false));
    let u1 = person(s, "b1", vec![d], &[("name", text("b")), ("active", yes.clone())]).await;
    let u2 = person(s, "A2", vec![d], &[("name", text("a")), ("active", no.clone())]).await;
    let u3 = create(s, "c3", &[("active", yes.clone())]).await;
    let u4 = create(s, "B4", &[("name", text("b")), ("active", no)]).await;
    let u5 = create(s, "a5", &[("name", text("B")), ("active", yes)]).await;
    let (name, active) = (SortKey::Attr(attr("name")), SortKey::Attr(attr("active")));
    let (asc, desc) = (Direction::Asc, Direction::Desc);
    let cases = [
        ("name asc: NULL first, bytes", vec![(name, asc)], [u3, u5, u2, u1, u4]),
        ("name desc: NULL last, ties by id", vec![(name, desc)], [u1, u4, u2, u5, u3]),
        ("login ignores case", vec![(SortKey::Login, asc)], [u2, u5, u1, u4, u3]),
        ("id desc", vec![(SortKey::Id, desc)], [u5, u4, u3, u2, u1]),
        ("two keys", vec![(active, desc), (name, asc)], [u3, u5, u1, u2, u4]),
        ("default", vec![], [u1, u2, u3, u4, u5]),
    ];
    for (label, order, want) in cases {
        assert_eq!(ordered(s, vec![], order).await, want, "{label}");
    }

    let page = |filter: Vec<Cond>, offset: u64, limit: u64, count_total: bool| {
        let q = UserQuery { filter: Filter(filter), order: vec![], offset, limit, count_total };
        async move {
            let page = s.find_users(&q).await.unwrap();
            (page.items, page.total)
        }
    };
    let (items, total) = page(vec![], 1, 2, true).await;
    assert_eq!((items.iter().map(|u| u.id).collect::<Vec<_>>(), total), (vec![u2, u3], Some(5)));
    assert_eq!(items[0].departments, [d], "departments come with a page");
    assert!(items[1].departments.is_empty());
    assert_eq!(page(vec![], 1, 2, false).await.1, None, "no count asked for");
    let (items, total) = page(vec![], 10, 2, true).await;
    assert_eq!((items.len(), total), (0, Some(5)), "past the end");
    let (items, total) = page(vec![], 0, 0, true).await;
    assert_eq!((items.len(), total), (0, Some(5)), "limit 0");
    let active_only = vec![attr_is("active", Op::Eq, vec![Value::Bool(true)])];
    let (items, total) = page(active_only, 1, 1, true).await;
    assert_eq!((items.iter().map(|u| u.id).collect::<Vec<_>>(), total), (vec![u3], Some(3)));
}

/// NUL characters are data on both backends: stored (PostgreSQL text cannot hold U+0000,
/// so it keeps U+FFFD there), found again by the same value in any operator, and never an
/// error, also in logins and point lookups.
pub async fn nul_characters_are_data(env: Env) {
    let s = &*env.store;
    let id = create(s, "nul\u{0}login", &[("name", text("a\u{0}b")), ("title", text("x"))]).await;
    let other = create(s, "plain", &[("name", text("ab"))]).await;
    let stored = crate::fixtures::load(s, id).await;
    let expected = if env.url.starts_with("sqlite") { "a\u{0}b" } else { "a\u{FFFD}b" };
    assert_eq!(stored.get(attr("name")), &text(expected));
    assert_eq!(ids(s, vec![on("name", Op::Eq, &["a\u{0}b"])]).await, [id]);
    assert_eq!(ids(s, vec![on("name", Op::Like, &["A\u{0}%"])]).await, [id]);
    assert_eq!(ids(s, vec![on("name", Op::Contains, &["\u{0}"])]).await, [id]);
    assert_eq!(ids(s, vec![on("name", Op::StartsWith, &["a\u{0}"])]).await, [id]);
    assert_eq!(ids(s, vec![on("name", Op::Ne, &["a\u{0}b"])]).await, [other]);
    assert_eq!(ids(s, vec![on("title", Op::NotLike, &["\u{0}%"])]).await, [id, other]);
    assert_eq!(s.password_of("NUL\u{0}LOGIN").await.unwrap().map(|(u, _)| u), Some(id));
    assert!(s.app_by_client_id("x\u{0}").await.unwrap().is_none());
    assert!(s.session_access("\u{0}").await.unwrap().is_none());
}
