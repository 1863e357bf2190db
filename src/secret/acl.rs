//! Windows: who besides its owner may read a secret file. A file's permission
//! bits mean nothing there; its access list (DACL) says who may read it. A file
//! is refused when an entry of that list lets anyone read it other than the file's
//! owner, SYSTEM (`S-1-5-18`) or the Administrators group (`S-1-5-32-544`), the
//! accounts that can read every file of the machine anyway.
//!
//! The reading is strict on purpose: an entry that allows reading counts even if
//! a deny entry elsewhere would take it back, and a missing list (a "NULL DACL",
//! which lets everyone in) counts as Everyone. An access list that cannot be read
//! at all (a file system without ACLs, a network share that will not say) is an
//! error of its own: the caller says so rather than use the file.
//!
//! The Windows calls go through `windows-permissions`' safe wrappers, so this
//! crate keeps `unsafe_code = "forbid"`.

use std::io;
use std::path::Path;
use windows_permissions::constants::{
    AccessRights, AceFlags, AceType, SeObjectType, SecurityInformation,
};
use windows_permissions::{wrappers, SecurityDescriptor, Sid};

/// SYSTEM: the operating system itself.
const LOCAL_SYSTEM: &str = "S-1-5-18";
/// BUILTIN\Administrators.
const ADMINISTRATORS: &str = "S-1-5-32-544";

/// The rights that let a reader see the file's content, or give themselves that
/// right (changing the access list or taking ownership).
fn reads(mask: AccessRights) -> bool {
    mask.intersects(
        AccessRights::Bit0 // FILE_READ_DATA
            | AccessRights::GenericRead
            | AccessRights::GenericAll
            | AccessRights::WriteDac
            | AccessRights::WriteOwner,
    )
}

/// The accounts other than the owner, SYSTEM and Administrators that the file's
/// access list lets read it, by name where Windows knows one. Empty: only those
/// three may read it. An error: the access list could not be read.
pub fn other_readers(path: &Path) -> io::Result<Vec<String>> {
    let sd = wrappers::GetNamedSecurityInfo(
        path.as_os_str(),
        SeObjectType::SE_FILE_OBJECT,
        SecurityInformation::Owner | SecurityInformation::Dacl,
    )?;
    others_in(&sd)
}

/// `other_readers` for a security descriptor already read.
pub fn others_in(sd: &SecurityDescriptor) -> io::Result<Vec<String>> {
    let everyone = || Ok(vec!["Everyone (the file has no access list)".to_string()]);
    // A NULL DACL is asked about in its text form first: the DACL wrapper below
    // does not expect one.
    let sddl = wrappers::ConvertSecurityDescriptorToStringSecurityDescriptor(
        sd,
        SecurityInformation::Dacl,
    )?;
    if sddl.to_string_lossy().contains("NO_ACCESS_CONTROL") {
        return everyone();
    }
    let owner = wrappers::GetSecurityDescriptorOwner(sd)?;
    let Some(dacl) = wrappers::GetSecurityDescriptorDacl(sd)? else {
        return everyone();
    };
    let count = wrappers::GetAclInformationSize(dacl)?.AceCount;
    let mut others = Vec::new();
    for i in 0..count {
        let ace = wrappers::GetAce(dacl, i)?;
        let allows = matches!(
            ace.ace_type(),
            AceType::ACCESS_ALLOWED_ACE_TYPE
                | AceType::ACCESS_ALLOWED_CALLBACK_ACE_TYPE
                | AceType::ACCESS_ALLOWED_OBJECT_ACE_TYPE
                | AceType::ACCESS_ALLOWED_CALLBACK_OBJECT_ACE_TYPE
        );
        // An inherit-only entry applies to what a folder will hold, not to it.
        if !allows || ace.flags().contains(AceFlags::InheritOnly) || !reads(ace.mask()) {
            continue;
        }
        let Some(sid) = ace.sid() else {
            continue;
        };
        if owner.is_some_and(|o| o == sid) {
            continue;
        }
        let text = sid_text(sid)?;
        if text == LOCAL_SYSTEM || text == ADMINISTRATORS {
            continue;
        }
        let name = display_name(sid, &text);
        if !others.contains(&name) {
            others.push(name);
        }
    }
    Ok(others)
}

fn sid_text(sid: &Sid) -> io::Result<String> {
    Ok(wrappers::ConvertSidToStringSid(sid)?
        .to_string_lossy()
        .into_owned())
}

/// `DOMAIN\name (SID)` where the account is known, else the SID alone.
fn display_name(sid: &Sid, text: &str) -> String {
    match wrappers::LookupAccountSid(sid) {
        Ok((name, domain)) if !name.is_empty() => {
            let (name, domain) = (name.to_string_lossy(), domain.to_string_lossy());
            if domain.is_empty() {
                format!("{name} ({text})")
            } else {
                format!("{domain}\\{name} ({text})")
            }
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_permissions::LocalBox;

    fn sd(sddl: &str) -> LocalBox<SecurityDescriptor> {
        sddl.parse().expect("SDDL")
    }

    const ME: &str = "S-1-5-21-1111111111-2222222222-3333333333-1001";

    #[test]
    fn the_owner_system_and_administrators_may_read() {
        let d = sd(&format!("O:{ME}D:P(A;;FA;;;{ME})(A;;FA;;;SY)(A;;FA;;;BA)"));
        assert_eq!(others_in(&d).expect("read"), Vec::<String>::new());
    }

    #[test]
    fn users_everyone_or_another_account_reading_are_named() {
        for (ace, sid) in [
            ("(A;;FR;;;BU)", "S-1-5-32-545"),
            ("(A;;GR;;;WD)", "S-1-1-0"),
            ("(A;;0x1;;;AU)", "S-1-5-11"),
            ("(A;;FA;;;S-1-5-21-1-2-3-1002)", "S-1-5-21-1-2-3-1002"),
            ("(A;;WD;;;BU)", "S-1-5-32-545"),
        ] {
            let d = sd(&format!("O:{ME}D:P(A;;FA;;;{ME}){ace}"));
            let others = others_in(&d).expect("read");
            assert_eq!(others.len(), 1, "{ace}: {others:?}");
            assert!(others[0].contains(sid), "{ace}: {others:?}");
        }
    }

    #[test]
    fn entries_that_do_not_let_read_do_not_count() {
        // Execute only, a deny entry, and an inherit-only entry (for a folder's
        // future files) grant no read of this file.
        let d = sd(&format!(
            "O:{ME}D:P(A;;FA;;;{ME})(A;;FX;;;BU)(D;;FR;;;WD)(A;OIIO;FR;;;AU)"
        ));
        assert_eq!(others_in(&d).expect("read"), Vec::<String>::new());
    }

    #[test]
    fn a_file_without_an_access_list_is_readable_by_everyone() {
        let d = sd(&format!("O:{ME}D:NO_ACCESS_CONTROL"));
        let others = others_in(&d).expect("read");
        assert!(others[0].starts_with("Everyone"), "{others:?}");
    }
}
