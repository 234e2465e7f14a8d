//! SQL for the emulated directory: users with their indexed columns, and manager references still waiting
//! for their manager.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::directory::DirectoryUser;

fn row_to_user(id: String, manager_id: Option<String>, doc: &str) -> Result<DirectoryUser, StoreError> {
    let doc = serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(DirectoryUser { id, manager_id, doc })
}

fn one(conn: &Connection, sql: &str, key: &str) -> Result<Option<DirectoryUser>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let row = stmt
        .query_row(params![key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?))
        })
        .optional()?;
    row.map(|(id, m, doc)| row_to_user(id, m, &doc)).transpose()
}

pub fn find_by_id(conn: &Connection, id: &str) -> Result<Option<DirectoryUser>, StoreError> {
    one(conn, "SELECT id, manager_id, doc FROM directory_user WHERE id = ?1", id)
}

pub fn find_by_employee_id(conn: &Connection, employee_id: &str) -> Result<Option<DirectoryUser>, StoreError> {
    one(conn, "SELECT id, manager_id, doc FROM directory_user WHERE employee_id = ?1 LIMIT 1", employee_id)
}

/// The user whose `property` (a matching target other than employeeId) equals `value`.
pub fn find_by_property(conn: &Connection, property: &str, value: &str) -> Result<Option<DirectoryUser>, StoreError> {
    let column = match property {
        "userPrincipalName" => "user_principal_name",
        "mail" => "mail",
        "mailNickname" => "mail_nickname",
        "displayName" => "display_name",
        "objectId" | "id" => "id",
        // Any other target: compare the stored document's property.
        _ => {
            let path = format!("$.\"{}\"", property.replace('"', ""));
            let mut stmt = conn.prepare_cached(
                "SELECT id, manager_id, doc FROM directory_user WHERE json_extract(doc, ?1) = ?2 ORDER BY created_time LIMIT 1",
            )?;
            let row = stmt
                .query_row(params![path, value], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?))
                })
                .optional()?;
            return row.map(|(id, m, doc)| row_to_user(id, m, &doc)).transpose();
        }
    };
    let sql =
        format!("SELECT id, manager_id, doc FROM directory_user WHERE {column} = ?1 ORDER BY created_time LIMIT 1");
    one(conn, &sql, value)
}

/// Object id of the user with this employeeId.
pub fn id_by_employee_id(conn: &Connection, employee_id: &str) -> Result<Option<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM directory_user WHERE employee_id = ?1 LIMIT 1")?;
    Ok(stmt.query_row(params![employee_id], |r| r.get(0)).optional()?)
}

/// Whether a user other than `except_id` holds `upn` (case-insensitive).
pub fn upn_taken(conn: &Connection, upn: &str, except_id: &str) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM directory_user WHERE user_principal_name = ?1 COLLATE NOCASE AND id <> ?2 LIMIT 1",
    )?;
    Ok(stmt.exists(params![upn, except_id])?)
}

/// Insert or replace a user and its indexed columns.
pub fn save(conn: &Connection, user: &DirectoryUser) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO directory_user (id, user_principal_name, employee_id, display_name, given_name, surname, mail,
            mail_nickname, job_title, department, company_name, employee_type, account_enabled, city, country,
            created_time, manager_id, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
         ON CONFLICT (id) DO UPDATE SET user_principal_name = excluded.user_principal_name,
            employee_id = excluded.employee_id, display_name = excluded.display_name,
            given_name = excluded.given_name, surname = excluded.surname, mail = excluded.mail,
            mail_nickname = excluded.mail_nickname, job_title = excluded.job_title,
            department = excluded.department, company_name = excluded.company_name,
            employee_type = excluded.employee_type, account_enabled = excluded.account_enabled,
            city = excluded.city, country = excluded.country, manager_id = excluded.manager_id, doc = excluded.doc",
    )?;
    let doc = serde_json::to_string(&user.doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let t = |p: &str| user.text(p);
    stmt.execute(params![
        user.id,
        t("userPrincipalName").unwrap_or_default(),
        t("employeeId"),
        t("displayName"),
        t("givenName"),
        t("surname"),
        t("mail"),
        t("mailNickname"),
        t("jobTitle"),
        t("department"),
        t("companyName"),
        t("employeeType"),
        i64::from(user.account_enabled()),
        t("city"),
        t("country"),
        t("createdDateTime").unwrap_or_default(),
        user.manager_id,
        doc,
    ])?;
    Ok(())
}

/// Remember that `user_id`'s manager (by externalId) is not in the directory yet.
pub fn add_pending_reference(
    conn: &Connection,
    user_id: &str,
    job_id: &str,
    source_id: &str,
    manager_external_id: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO pending_reference (user_id, job_id, source_id, manager_external_id) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id) DO UPDATE SET job_id = excluded.job_id, source_id = excluded.source_id,
            manager_external_id = excluded.manager_external_id",
    )?
    .execute(params![user_id, job_id, source_id, manager_external_id])?;
    Ok(())
}

/// Whether any manager reference is waiting.
pub fn has_pending_references(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM pending_reference)")?.query_row([], |r| r.get(0))?)
}

pub fn remove_pending_reference(conn: &Connection, user_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM pending_reference WHERE user_id = ?1")?.execute(params![user_id])?;
    Ok(())
}

/// A waiting reference whose manager now exists: (user id, job id, source id, manager externalId, manager id).
pub type ResolvableReference = (String, String, String, String, String);

/// Waiting references whose manager is now in the directory.
pub fn resolvable_references(conn: &Connection) -> Result<Vec<ResolvableReference>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.user_id, p.job_id, p.source_id, p.manager_external_id,
            (SELECT m.id FROM directory_user m WHERE m.employee_id = p.manager_external_id ORDER BY m.created_time LIMIT 1)
         FROM pending_reference p
         WHERE EXISTS (SELECT 1 FROM directory_user m WHERE m.employee_id = p.manager_external_id)",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Empty the directory (emulator reset).
pub fn clear(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("DELETE FROM pending_reference; DELETE FROM directory_user;")?;
    Ok(())
}
