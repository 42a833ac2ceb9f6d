//! The object list and details: which list of the selected vault is shown, its filter and quick filters, the
//! keyboard cursor, the selected object and version, its versions and key or certificate details, the raw
//! JSON switch, and a secret's value fetched only when the person reveals or copies it.

use secrecy::{ExposeSecret, SecretString};

use super::common::{ClipboardRequest, CommandSink, LoadStatus, Requests, Shared, status_of};
use super::errors::Attempt;
use super::session::SessionState;
use super::tree::TreeState;
use super::vault_index::{ObjectList, QuickFilters, VaultContents, filter_list};
use crate::access::{ObjectType, Target};
use crate::azure::identifiers::{ObjectId, ObjectKind, VaultUri};
use crate::azure::models::{ListKind, ObjectItem};
use crate::azure::object_details::ObjectDetails;
use crate::worker::{Command, EventKind, Outcome};

/// What the person does with the list and the details panel.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectsIntent {
    /// Show secrets, keys, certificates or one of the deleted lists of the selected vault.
    SelectList(ListKind),
    /// Select an object of the shown list by name.
    SelectObject(String),
    SelectVersion(Option<String>),
    /// Keyboard: move the highlighted row by this many rows (negative: up).
    MoveCursor(i64),
    /// Keyboard: open the highlighted row.
    OpenCursor,
    /// Copy the selected object's identifier (versioned when a version is selected).
    CopySelectedIdentifier,
    SetFilter(String),
    SetListFilters(QuickFilters),
    ToggleRawJson,
    /// Fetch (if needed) and show the value of this secret version.
    RevealValue(ObjectId),
    HideValue,
    /// Fetch (if needed) and copy the value of this secret version.
    CopyValue(ObjectId),
}

/// What the value request is for, so its result lands in the right place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValuePurpose {
    Reveal,
    Copy,
}

/// What an objects request is for.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectsRequest {
    Versions(ObjectId),
    Details(ObjectId),
    Value(ObjectId, ValuePurpose),
}

/// A value fetched after the person asked for it. Shown only while `visible`.
pub struct FetchedValue {
    pub id: ObjectId,
    pub value: SecretString,
    pub visible: bool,
}

impl std::fmt::Debug for FetchedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchedValue")
            .field("id", &self.id)
            .field("visible", &self.visible)
            .finish_non_exhaustive()
    }
}

/// The versions of the selected object.
#[derive(Debug, Clone, Default)]
pub struct VersionList {
    /// The versionless id they belong to.
    pub id: Option<ObjectId>,
    pub items: Vec<ObjectItem>,
    pub status: LoadStatus,
    /// The items came from the local index (fetched then), not from this run: the first page replaces them.
    pub cached_as_of: Option<i64>,
}

/// A key's or certificate's details for the selected version.
#[derive(Debug, Clone, Default)]
pub struct DetailsState {
    pub id: Option<ObjectId>,
    pub details: Option<ObjectDetails>,
    pub raw: Option<serde_json::Value>,
    pub status: LoadStatus,
}

/// The selected vault as the list sees it: the vault and what is loaded of it.
#[derive(Clone, Copy)]
pub struct Shown<'a> {
    pub vault: Option<&'a VaultUri>,
    pub contents: Option<&'a VaultContents>,
}

impl<'a> Shown<'a> {
    pub fn of(vault: Option<&'a VaultUri>, tree: &'a TreeState) -> Self {
        Self {
            vault,
            contents: vault.and_then(|vault| tree.vaults.get(vault)),
        }
    }
}

/// The list, the selection and the details.
#[derive(Debug, Default)]
pub struct ObjectsState {
    /// Which list of the selected vault is shown.
    pub selected_list: ListKind,
    /// The selected object's name in that list.
    pub selected_object: Option<String>,
    /// `None`: the latest version.
    pub selected_version: Option<String>,
    /// The keyboard's row in the filtered list.
    pub cursor: Option<usize>,
    /// Where the selected object's row was when it was selected (checked before use).
    selected_row: Option<usize>,
    pub versions: VersionList,
    pub details: DetailsState,
    pub show_raw_json: bool,
    pub filter: String,
    pub list_filters: QuickFilters,
    pub value: Option<FetchedValue>,
    pub value_status: LoadStatus,
    pub(super) requests: Requests<ObjectsRequest>,
}

impl ObjectsState {
    /// Forgets the identity's selection (the filters, the raw JSON switch and the quick filters stay).
    pub fn reset(&mut self, sink: &mut dyn CommandSink) {
        self.requests.cancel_all(sink);
        self.selected_list = ListKind::live(ObjectKind::Secret);
        self.clear_selection();
        self.cursor = None;
        self.filter.clear();
    }

    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    /// The shown list of `shown`'s vault.
    pub fn rows<'a>(&self, shown: Shown<'a>) -> Option<&'a ObjectList> {
        Some(shown.contents?.list(self.selected_list))
    }

    /// The selected object's row in the shown list (rebuilt from the compact list).
    pub fn selected_item(&self, shown: Shown<'_>) -> Option<ObjectItem> {
        let list = self.rows(shown)?;
        let name = self.selected_object.as_ref()?;
        // The row found at selection time, while it still holds that name; else a search (after a reload).
        let index = self
            .selected_row
            .filter(|&row| list.name_lower(row).eq_ignore_ascii_case(name))
            .or_else(|| list.position(name))?;
        list.item(index)
    }

    /// The row of the selected version: from the version list, else the list row (latest).
    pub fn selected_version_item(&self, shown: Shown<'_>) -> Option<ObjectItem> {
        if let Some(version) = &self.selected_version
            && let Some(item) = self
                .versions
                .items
                .iter()
                .find(|item| item.version().as_deref() == Some(version.as_str()))
        {
            return Some(item.clone());
        }
        self.selected_item(shown)
    }

    /// The identifier of the selected object at the selected version (latest: versionless).
    pub fn selected_object_id(&self, vault: Option<&VaultUri>) -> Option<ObjectId> {
        Some(ObjectId {
            vault: vault?.clone(),
            kind: self.selected_list.kind,
            name: self.selected_object.clone()?,
            version: self.selected_version.clone(),
        })
    }

    /// Indices of the shown list's rows matching the filter and quick filters.
    pub fn filtered_indices(&self, shown: Shown<'_>) -> Vec<usize> {
        let Some(list) = self.rows(shown) else {
            return Vec::new();
        };
        filter_list(
            list,
            &self.filter.trim().to_lowercase(),
            &self.list_filters,
            super::super::format::now_unix(),
        )
    }

    /// Applies what the person did with the list or the details.
    pub fn handle(
        &mut self,
        intent: ObjectsIntent,
        shown: Shown<'_>,
        shared: &mut Shared,
        sink: &mut dyn CommandSink,
    ) {
        match intent {
            ObjectsIntent::SelectList(list) => self.set_list(list),
            ObjectsIntent::SelectObject(name) => {
                self.select_object(name, shown, sink);
                self.cursor_on_selected(shown);
            }
            ObjectsIntent::SelectVersion(version) => {
                if self.selected_version != version {
                    self.selected_version = version;
                    self.forget_value();
                    self.load_details(shown.vault, sink);
                }
            }
            ObjectsIntent::MoveCursor(delta) => self.move_cursor(delta, shown),
            ObjectsIntent::OpenCursor => {
                let name = self.cursor.and_then(|cursor| {
                    let index = *self.filtered_indices(shown).get(cursor)?;
                    Some(self.rows(shown)?.name(index).to_owned())
                });
                if let Some(name) = name {
                    self.select_object(name, shown, sink);
                }
            }
            ObjectsIntent::CopySelectedIdentifier => {
                if let Some(id) = self.selected_object_id(shown.vault) {
                    let (what, text) = if id.version.is_some() {
                        ("the versioned identifier", id.versioned())
                    } else {
                        ("the identifier", id.versionless())
                    };
                    shared.copy_text(what, text);
                }
            }
            ObjectsIntent::SetFilter(filter) => {
                self.filter = filter;
                self.cursor = None;
            }
            ObjectsIntent::SetListFilters(filters) => {
                self.list_filters = filters;
                self.cursor = None;
            }
            ObjectsIntent::ToggleRawJson => self.show_raw_json = !self.show_raw_json,
            ObjectsIntent::RevealValue(id) => match &mut self.value {
                Some(value) if value.id == id => value.visible = true,
                _ => self.request_value(id, ValuePurpose::Reveal, sink),
            },
            ObjectsIntent::HideValue => self.forget_value(),
            ObjectsIntent::CopyValue(id) => match &self.value {
                Some(value) if value.id == id => {
                    copy_value(shared, &id, &value.value);
                }
                _ => self.request_value(id, ValuePurpose::Copy, sink),
            },
        }
    }

    fn move_cursor(&mut self, delta: i64, shown: Shown<'_>) {
        let rows = self.filtered_indices(shown).len();
        if rows > 0 {
            let current = self.cursor.map_or(-1, |cursor| cursor as i64);
            let start = if self.cursor.is_none() && delta < 0 {
                rows as i64
            } else {
                current
            };
            self.cursor = Some((start + delta).clamp(0, rows as i64 - 1) as usize);
        }
    }

    /// Another vault was selected: nothing of the previous one stays selected.
    pub fn vault_changed(&mut self) {
        self.clear_selection();
        self.cursor = None;
    }

    pub fn set_list(&mut self, list: ListKind) {
        if self.selected_list != list {
            self.selected_list = list;
            self.clear_selection();
            self.cursor = None;
        }
    }

    /// Clears the filter and quick filters (a search hit must be visible in the list).
    pub fn clear_filters(&mut self) {
        self.filter.clear();
        self.list_filters = QuickFilters::default();
    }

    /// Selects an object of the shown list: its versions and details load, its value is forgotten.
    pub fn select_object(&mut self, name: String, shown: Shown<'_>, sink: &mut dyn CommandSink) {
        if self.selected_object.as_deref() == Some(&name) {
            return;
        }
        self.selected_object = Some(name.clone());
        self.selected_row = self.rows(shown).and_then(|rows| rows.position(&name));
        self.selected_version = None;
        self.forget_value();
        if let Some(vault) = shown.vault {
            if self.selected_list.deleted {
                // Deleted objects have no version list; their row says everything.
                self.requests
                    .forget(|request| matches!(request, ObjectsRequest::Versions(..)));
                self.versions = VersionList::default();
            } else {
                self.load_versions(
                    ObjectId {
                        vault: vault.clone(),
                        kind: self.selected_list.kind,
                        name,
                        version: None,
                    },
                    sink,
                );
            }
        }
        self.load_details(shown.vault, sink);
    }

    /// Selects a version by id (a versioned URI was opened) and reads its details.
    pub fn select_version(
        &mut self,
        version: String,
        vault: Option<&VaultUri>,
        sink: &mut dyn CommandSink,
    ) {
        self.selected_version = Some(version);
        self.load_details(vault, sink);
    }

    /// Puts the keyboard cursor on the selected object's row (none when the filter hides it).
    pub fn cursor_on_selected(&mut self, shown: Shown<'_>) {
        self.cursor = self.selected_row.and_then(|row| {
            self.filtered_indices(shown)
                .iter()
                .position(|&index| index == row)
        });
    }

    /// The selected object left the shown list (a change moved it): nothing is selected.
    pub fn close_selection(&mut self) {
        self.clear_selection();
        self.cursor = None;
    }

    /// Reads the selected object's versions and details again (a change touched it).
    pub fn reload_selected(&mut self, shown: Shown<'_>, sink: &mut dyn CommandSink) {
        let Some(name) = self.selected_object.take() else {
            return;
        };
        let version = self.selected_version.clone();
        self.select_object(name, shown, sink);
        if let Some(version) = version {
            self.select_version(version, shown.vault, sink);
        }
    }

    /// Esc in the list: hides a shown value, else closes the selected object.
    pub fn close(&mut self) {
        if self.value.as_ref().is_some_and(|value| value.visible) {
            self.forget_value();
        } else {
            self.clear_selection();
        }
    }

    fn load_versions(&mut self, id: ObjectId, sink: &mut dyn CommandSink) {
        self.requests
            .forget(|request| matches!(request, ObjectsRequest::Versions(..)));
        self.requests.send(
            sink,
            Command::ListVersions { id: id.clone() },
            ObjectsRequest::Versions(id.clone()),
        );
        self.versions = VersionList {
            id: Some(id),
            items: Vec::new(),
            status: LoadStatus::Loading,
            cached_as_of: None,
        };
    }

    /// Reads the key's or certificate's bundle for the selected version (secrets need no second read).
    fn load_details(&mut self, vault: Option<&VaultUri>, sink: &mut dyn CommandSink) {
        self.requests
            .forget(|request| matches!(request, ObjectsRequest::Details(..)));
        self.details = DetailsState::default();
        let Some(id) = self.selected_object_id(vault) else {
            return;
        };
        if id.kind == ObjectKind::Secret || self.selected_list.deleted {
            return;
        }
        self.requests.send(
            sink,
            Command::GetDetails { id: id.clone() },
            ObjectsRequest::Details(id.clone()),
        );
        self.details = DetailsState {
            id: Some(id),
            status: LoadStatus::Loading,
            ..DetailsState::default()
        };
    }

    fn clear_selection(&mut self) {
        self.selected_object = None;
        self.selected_version = None;
        self.versions = VersionList::default();
        self.details = DetailsState::default();
        self.requests.forget(|request| {
            matches!(
                request,
                ObjectsRequest::Versions(..) | ObjectsRequest::Details(..)
            )
        });
        self.forget_value();
    }

    fn request_value(&mut self, id: ObjectId, purpose: ValuePurpose, sink: &mut dyn CommandSink) {
        self.requests
            .forget(|request| matches!(request, ObjectsRequest::Value(..)));
        self.requests.send(
            sink,
            Command::GetSecretValue { id: id.clone() },
            ObjectsRequest::Value(id, purpose),
        );
        self.value_status = LoadStatus::Loading;
    }

    fn forget_value(&mut self) {
        self.value = None;
        self.value_status = LoadStatus::NotLoaded;
        self.requests
            .forget(|request| matches!(request, ObjectsRequest::Value(..)));
    }

    /// Applies a progress event: versions, details or a value.
    pub fn apply_progress(
        &mut self,
        request: ObjectsRequest,
        kind: EventKind,
        shared: &mut Shared,
    ) {
        match (request, kind) {
            (ObjectsRequest::Versions(id), EventKind::VersionsPage { items, .. })
                if self.versions.id.as_ref() == Some(&id) =>
            {
                if self.versions.cached_as_of.take().is_some() {
                    self.versions.items.clear();
                }
                self.versions.items.extend(items);
                // Newest first.
                self.versions
                    .items
                    .sort_by_key(|item| std::cmp::Reverse(item.attributes.created.unwrap_or(0)));
            }
            (ObjectsRequest::Details(requested), EventKind::Details { details, raw, .. })
                if self.details.id.as_ref() == Some(&requested) =>
            {
                self.details.details = Some(details);
                self.details.raw = Some(*raw);
            }
            (ObjectsRequest::Value(requested, purpose), EventKind::SecretValue { id, value }) => {
                if purpose == ValuePurpose::Copy {
                    copy_value(shared, &id, &value);
                }
                let visible = purpose == ValuePurpose::Reveal
                    || self
                        .value
                        .as_ref()
                        .is_some_and(|v| v.visible && v.id == requested);
                self.value = Some(FetchedValue {
                    id: requested,
                    value,
                    visible,
                });
            }
            (request, kind) => {
                tracing::warn!(?request, event = ?std::mem::discriminant(&kind), "event does not match its request");
            }
        }
    }

    /// Applies a terminal event; a permission 403 says who lacks what and offers the access check.
    pub fn finish(
        &mut self,
        request: ObjectsRequest,
        outcome: Outcome,
        tree: &TreeState,
        session: &SessionState,
        shared: &mut Shared,
    ) {
        let status = status_of(&outcome);
        let failure = match &outcome {
            Outcome::Failed(error) => Some(error),
            _ => None,
        };
        match request {
            ObjectsRequest::Details(_) => self.details.status = status,
            ObjectsRequest::Versions(id) => {
                let denied = failure.and_then(|error| {
                    // Secrets have their own "list versions" operation; keys and certificates list
                    // versions with their `list` permission.
                    let permission = if id.kind == ObjectKind::Secret {
                        "list versions"
                    } else {
                        "list"
                    };
                    let attempt = object_attempt(&id, permission, tree, session);
                    shared.note_denied(error, attempt)
                });
                self.versions.status = denied.map_or(status, LoadStatus::Failed);
            }
            ObjectsRequest::Value(id, purpose) => {
                let denied = failure.and_then(|error| {
                    shared.note_denied(error, object_attempt(&id, "get", tree, session))
                });
                self.value_finished(&id, purpose, status, denied, shared);
            }
        }
    }

    /// The value request ended: a failure is shown in place, and a failed copy also says so in the status
    /// bar, where the person looks for "Copied". `denied`: the sentence of a permission 403.
    fn value_finished(
        &mut self,
        id: &ObjectId,
        purpose: ValuePurpose,
        status: LoadStatus,
        denied: Option<String>,
        shared: &mut Shared,
    ) {
        if let Some(message) = denied {
            self.value_status = LoadStatus::Failed(message);
            if purpose == ValuePurpose::Copy {
                shared.set_notice(
                    format!("Did not copy the value of {}: access denied", id.name),
                    true,
                );
            }
            return;
        }
        if matches!(status, LoadStatus::Failed(_)) && purpose == ValuePurpose::Copy {
            shared.set_notice(
                format!(
                    "Did not copy the value of {}: see the details panel",
                    id.name
                ),
                true,
            );
        }
        self.value_status = status;
    }
}

/// An operation on one object, for the access check a 403 offers.
fn object_attempt<'a>(
    id: &'a ObjectId,
    permission: &'static str,
    tree: &TreeState,
    session: &SessionState,
) -> Attempt<'a> {
    let object_type = ObjectType::from(id.kind);
    Attempt {
        vault: &id.vault,
        vault_arm_id: tree
            .vault_summary(&id.vault)
            .and_then(|summary| summary.arm_id.clone()),
        object_type,
        permission,
        target: Target::Object {
            object_type,
            name: id.name.clone(),
        },
        who: session.who(),
    }
}

/// Puts a secret value on the clipboard (out of history, cleared later) and says so.
fn copy_value(shared: &mut Shared, id: &ObjectId, value: &SecretString) {
    shared.clipboard = Some(ClipboardRequest {
        text: SecretString::from(value.expose_secret()),
        is_secret: true,
    });
    shared.set_notice(format!("Copied the value of {}", id.name), false);
}
