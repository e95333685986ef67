//! Display names of people on platforms whose messages carry a free-form name that nothing vouches for (the generic
//! HTTP intake: the client sends `{"id", "name"}`). deskbot remembers each person's latest name (in `platform_refs`,
//! `name:<id>`), so that `/ticket assign N @sam` finds the technician people know as sam, and so that two people
//! showing one name are told apart by their platform id wherever deskbot names them ("tom (u-evil)"): a requester
//! calling themselves "tom" cannot pass for the technician tom. Platforms with real mentions (Slack, Teams,
//! Discord) resolve people themselves and are left alone.

use super::{Desk, DeskError, Refusal};
use crate::core::ids::{Platform, UserRef};
use crate::core::message::Envelope;
use crate::store::Store;
use std::collections::HashMap;

/// Key prefix of a remembered display name in `platform_refs`.
const NAME_PREFIX: &str = "name:";

/// Display names by platform id, per platform, as this process last saw or loaded them.
#[derive(Default)]
pub(super) struct Directory {
    names: HashMap<Platform, HashMap<String, String>>,
}

/// Whether deskbot keeps the names of `platform`'s people (see the module documentation).
fn keeps_names(platform: Platform) -> bool {
    platform == Platform::Http
}

/// Whether two display names would look the same to a reader: compared by their [`skeleton`].
fn same_name(a: &str, b: &str) -> bool {
    skeleton(a) == skeleton(b)
}

/// What a name looks like, for telling look-alikes apart: compatibility forms folded (fullwidth "ｓａｍ" is "sam"),
/// accents and other combining marks dropped, letters lowercased, the Cyrillic and Greek letters that look like
/// Latin ones read as those ("ѕаm" is "sam"), and spaces at the ends ignored.
fn skeleton(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    name.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'а' | 'α' => 'a',
            'в' | 'β' => 'b',
            'с' | 'ϲ' => 'c',
            'ԁ' => 'd',
            'е' | 'ε' => 'e',
            'һ' => 'h',
            'і' | 'ι' | 'ı' => 'i',
            'ј' => 'j',
            'к' | 'κ' => 'k',
            'ӏ' | 'ⅼ' => 'l',
            'м' => 'm',
            'п' | 'η' => 'n',
            'о' | 'ο' | 'σ' => 'o',
            'р' | 'ρ' => 'p',
            'ԛ' => 'q',
            'г' => 'r',
            'ѕ' => 's',
            'т' | 'τ' => 't',
            'υ' | 'ц' => 'u',
            'ν' => 'v',
            'ԝ' | 'ш' | 'ω' => 'w',
            'х' | 'χ' => 'x',
            'у' | 'γ' => 'y',
            'ᴢ' => 'z',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

impl<S: Store> Desk<S> {
    /// Remembers the actor's display name; when someone else known on the platform shows the same name, the
    /// returned envelope names the actor with their platform id beside it ("tom (u-evil)"), and so does everything
    /// deskbot says about them. `None`: the envelope is fine as it is.
    pub(super) async fn known_as(&self, env: &Envelope) -> Result<Option<Envelope>, DeskError> {
        let p = env.actor.platform;
        if !keeps_names(p) {
            return Ok(None);
        }
        self.load_names(p, false).await?;
        let (id, name) = (&env.actor.id, &env.actor.name);
        let (changed, shared) = {
            let dir = self.people.read().unwrap_or_else(|e| e.into_inner());
            let known = dir.names.get(&p);
            let changed = known.and_then(|m| m.get(id)) != Some(name);
            let shared = known.is_some_and(|m| m.iter().any(|(other, n)| other != id && same_name(n, name)));
            (changed, shared)
        };
        if changed {
            self.store.put_platform_ref(p, &format!("{NAME_PREFIX}{id}"), name, self.now()).await?;
            let mut dir = self.people.write().unwrap_or_else(|e| e.into_inner());
            dir.names.entry(p).or_default().insert(id.clone(), name.clone());
        }
        if !shared || *name == *id {
            return Ok(None);
        }
        let mut renamed = env.clone();
        renamed.actor = UserRef::new(p, id.clone(), name.clone()).with_id_marker();
        Ok(Some(renamed))
    }

    /// Reads the platform's remembered names from the store: the first time, or with `again` (a name asked for
    /// that this process has not seen: another replica may have).
    pub(super) async fn load_names(&self, p: Platform, again: bool) -> Result<(), DeskError> {
        let loaded = self.people.read().unwrap_or_else(|e| e.into_inner()).names.contains_key(&p);
        if loaded && !again {
            return Ok(());
        }
        let stored = self.store.platform_refs_with_prefix(p, NAME_PREFIX).await?;
        let mut dir = self.people.write().unwrap_or_else(|e| e.into_inner());
        let names = dir.names.entry(p).or_default();
        for (key, name) in stored {
            if let Some(id) = key.strip_prefix(NAME_PREFIX) {
                names.entry(id.to_string()).or_insert(name);
            }
        }
        Ok(())
    }

    /// Whether `who` (an id or a display name given to `/ticket assign`) is someone this process knows on `p`.
    pub(super) fn knows(&self, p: Platform, who: &str) -> bool {
        if !keeps_names(p) {
            return true;
        }
        let dir = self.people.read().unwrap_or_else(|e| e.into_inner());
        dir.names.get(&p).is_some_and(|m| m.contains_key(who) || m.values().any(|n| same_name(n, who)))
    }

    /// The person `/ticket assign N @who` means on `p`: the one with that id; else the one technician (or lead,
    /// admin) with that display name, shown with their id when the name is shared; else a person with that name;
    /// else `who` taken as an id. Two technicians with the name: refused, asking for the id.
    pub(super) fn person(&self, p: Platform, who: &str, n: crate::core::ids::TicketNo) -> Result<UserRef, Refusal> {
        if !keeps_names(p) {
            return Ok(UserRef::new(p, who, who));
        }
        let dir = self.people.read().unwrap_or_else(|e| e.into_inner());
        let Some(names) = dir.names.get(&p) else { return Ok(UserRef::new(p, who, who)) };
        let shown = |id: &str, name: &str| {
            let u = UserRef::new(p, id, name);
            if names.iter().any(|(other, n)| other != id && same_name(n, name)) { u.with_id_marker() } else { u }
        };
        if let Some(name) = names.get(who) {
            return Ok(shown(who, name));
        }
        let mut named: Vec<(&String, &String)> = names.iter().filter(|(_, name)| same_name(name, who)).collect();
        named.sort();
        let staff: Vec<&(&String, &String)> =
            named.iter().filter(|(id, _)| self.role_of(&UserRef::new(p, id.as_str(), "")).is_staff()).collect();
        match (staff.as_slice(), named.first()) {
            ([(id, name)], _) => Ok(shown(id, name)),
            ([], Some((id, name))) => Ok(shown(id, name)),
            ([], None) => Ok(UserRef::new(p, who, who)),
            (several, _) => {
                let list: Vec<String> = several.iter().map(|(id, name)| format!("{name} ({id})")).collect();
                let first = several.first().map(|(id, _)| id.as_str()).unwrap_or(who);
                Err(format!(
                    "more than one technician is called {who}: {}; say which by their id (/ticket assign {} @{first})",
                    list.join(", "),
                    n.0
                )
                .into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_names_are_the_same_name() {
        for fake in ["ｓａｍ", "\u{455}\u{430}m", "sa\u{301}m", "SAM", " sam ", "ѕам"] {
            assert!(same_name(fake, "sam"), "{fake:?}");
        }
        for other in ["samuel", "pam", "s am", "sam2"] {
            assert!(!same_name(other, "sam"), "{other:?}");
        }
    }
}
