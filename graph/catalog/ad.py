"""Active Directory, as SharpHound collects it and BloodHound CE names it."""

from __future__ import annotations

from graph.catalog.common import (
    ALIASES,
    DESCRIPTION,
    DOMAIN,
    ISACL,
    NAME,
    OBJECTID,
    SAMACCOUNTNAME,
    SHORTNAME,
    TIER0,
)
from graph.catalog.core import NodeKind, Prop, RelKind

GROUP = "Active Directory"
AD_OPEN = ("any other name of the record's `Properties` (BloodHound CE keeps them flat; nested values as "
           "JSON text, integers beyond 64 bits as text)")
AD_KEY = "upper-case `Properties.name`; else the objectid"
DN_KEY = "upper-case `distinguishedname`; else the objectid"

# What SharpHound adds to every AD object, beside its own Properties.
_AD_COMMON = (
    OBJECTID, NAME, DOMAIN, TIER0, ALIASES, DESCRIPTION,
    Prop("distinguishedname", "str", "LDAP distinguished name"),
    Prop("placeholder", "bool", "referenced by another object but defined by no file yet (keyed by objectid)"),
    Prop("isdeleted", "bool", "the object is in AD's deleted objects"),
    Prop("isaclprotected", "bool", "inheritance is off on the object's ACL"),
    Prop("highvalue", "bool", "marked high value in the data (legacy BloodHound)"),
    Prop("domainsid", "str", "SID of the object's domain"),
)
_ACCOUNT = (
    SAMACCOUNTNAME,
    Prop("enabled", "bool", "the account can log on"),
    Prop("admincount", "bool", "protected by AdminSDHolder (a privileged account, now or once)"),
    Prop("pwdlastset", "int", "last password change (epoch seconds)"),
    Prop("lastlogontimestamp", "int", "last logon replicated to all DCs (epoch seconds)"),
)

NODES = (
    NodeKind("Base", GROUP, "every AD object (the label a placeholder of unknown kind has alone)",
             AD_KEY, _AD_COMMON, open=AD_OPEN),
    NodeKind("User", GROUP, "an account: AD user, or one an event names (`local` accounts as `NAME@HOST`)",
             AD_KEY + "; event-only accounts `NAME@DOMAIN`", (
                 *_AD_COMMON, *_ACCOUNT,
                 Prop("hasspn", "bool", "has a service principal name (kerberoastable)"),
                 Prop("serviceprincipalnames", "list[str]", "its SPNs"),
                 Prop("dontreqpreauth", "bool", "Kerberos pre-authentication off (AS-REP roastable)"),
                 Prop("upn", "str", "userPrincipalName, lower-case"),
                 Prop("userprincipalname", "str", "userPrincipalName as collected"),
                 Prop("email", "str", "mail address"),
                 Prop("local", "bool", "a machine's local account, keyed `NAME@HOST`"),
             ), open=AD_OPEN),
    NodeKind("Group", GROUP, "an AD group", AD_KEY, (*_AD_COMMON, *_ACCOUNT[:3]), open=AD_OPEN),
    NodeKind("Domain", GROUP, "an AD domain, or a trusted one known by name", "upper-case domain name", (
        *_AD_COMMON,
        Prop("functionallevel", "str", "domain functional level"),
        Prop("netbios", "str", "NetBIOS name (`CORP`)"),
    ), open=AD_OPEN),
    NodeKind("OU", GROUP, "an organisational unit", DN_KEY, _AD_COMMON, open=AD_OPEN),
    NodeKind("Container", GROUP, "an AD container", DN_KEY, _AD_COMMON, open=AD_OPEN),
    NodeKind("GPO", GROUP, "a group policy object", DN_KEY, _AD_COMMON, open=AD_OPEN),
    NodeKind("CertTemplate", GROUP, "an AD CS certificate template", DN_KEY, _AD_COMMON, open=AD_OPEN),
    NodeKind("EnterpriseCA", GROUP, "an AD CS enterprise CA", DN_KEY, (
        *_AD_COMMON,
        Prop("certthumbprint", "str", "thumbprint of the CA's certificate"),
        Prop("certchain", "list[str]", "thumbprints of its chain, itself first"),
        Prop("hasenrollmentagentrestrictions", "bool", "enrollment agent restrictions are set"),
        Prop("isuserspecifiessanenabled", "bool", "EDITF_ATTRIBUTESUBJECTALTNAME2 is on (ESC6)"),
        Prop("roleseparationenabled", "bool", "CA role separation is on"),
    ), open=AD_OPEN),
    NodeKind("RootCA", GROUP, "an AD CS root CA", DN_KEY, _AD_COMMON, open=AD_OPEN),
    NodeKind("AIACA", GROUP, "an AD CS AIA CA", DN_KEY, _AD_COMMON, open=AD_OPEN),
    NodeKind("NTAuthStore", GROUP, "the NTAuth certificate store", DN_KEY, (
        *_AD_COMMON,
        Prop("certthumbprints", "list[str]", "thumbprints of the CAs it trusts for NT authentication"),
    ), open=AD_OPEN),
    NodeKind("IssuancePolicy", GROUP, "an AD CS issuance policy (OID)", DN_KEY, _AD_COMMON, open=AD_OPEN),
)

# Computer AD properties live with the host kind (graph/catalog/hosts.py).
COMPUTER_AD = (
    *_ACCOUNT[:2],
    Prop("operatingsystem", "str", "OS name (AD's, else the newest Nmap guess)"),
    Prop("unconstraineddelegation", "bool", "trusted for unconstrained delegation"),
    Prop("isdc", "bool", "a domain controller"),
    Prop("certificatemappingmethodsraw", "int", "a DC's CertificateMappingMethods registry value"),
    Prop("strongcertificatebindingenforcementraw", "int", "a DC's StrongCertificateBindingEnforcement value"),
    SHORTNAME,
)

_INHERITED = Prop("isinherited", "bool", "the ACE is inherited from a parent object")
ACE = (ISACL, _INHERITED)
_PRINCIPAL = ("User", "Group", "Computer", "Base")
_ANY_AD = ("Base",)
_CE = "sharphound"


def _ace(name: str, dst: tuple[str, ...], what: str) -> RelKind:
    return RelKind(name, GROUP, _PRINCIPAL, dst, what, _CE, ACE)


def _esc(name: str, what: str) -> RelKind:
    return RelKind(name, GROUP, _PRINCIPAL, ("Domain",), what + " (BloodHound CE's analysis; not derived yet)", "—",
                   (ISACL,))


RELS = (
    RelKind("MemberOf", GROUP, _PRINCIPAL, ("Group",), "member -> group (`Members`, `PrimaryGroupSID`)", _CE,
            (ISACL, Prop("isprimarygroup", "bool", "from PrimaryGroupSID"))),
    RelKind("HasSession", GROUP, ("Computer",), ("User",),
            "a user's credentials are on the host (SharpHound sessions; interactive logons)", "sharphound, winevents",
            (ISACL,)),
    RelKind("AdminTo", GROUP, _PRINCIPAL, ("Computer",), "local Administrators (-544), incl. through GPOs", _CE,
            (ISACL,)),
    RelKind("CanRDP", GROUP, _PRINCIPAL, ("Computer",), "Remote Desktop Users (-555)", _CE, (ISACL,)),
    RelKind("CanPSRemote", GROUP, _PRINCIPAL, ("Computer",), "Remote Management Users (-580)", _CE, (ISACL,)),
    RelKind("ExecuteDCOM", GROUP, _PRINCIPAL, ("Computer",), "Distributed COM Users (-562)", _CE, (ISACL,)),
    RelKind("SQLAdmin", GROUP, ("User",), ("Computer",), "an SPN target: the account administers SQL there", _CE,
            (ISACL, Prop("port", "int", "the SPN's port"))),
    RelKind("RemoteInteractiveLogonRight", GROUP, _PRINCIPAL, ("Computer",), "user right to log on by RDP", _CE,
            (ISACL,)),
    RelKind("AllowedToDelegate", GROUP, ("User", "Computer"), ("Computer",), "constrained delegation", _CE,
            (ISACL,)),
    RelKind("AllowedToAct", GROUP, _PRINCIPAL, ("Computer",), "resource-based constrained delegation", _CE,
            (ISACL,)),
    RelKind("HasSIDHistory", GROUP, _PRINCIPAL, _PRINCIPAL, "SID history names the other principal", _CE, (ISACL,)),
    RelKind("DumpSMSAPassword", GROUP, ("Computer",), ("User",), "the host holds a standalone MSA's password", _CE,
            (ISACL,)),
    RelKind("CoerceToTGT", GROUP, ("Computer",), ("Domain",), "unconstrained delegation (not a DC)", _CE, (ISACL,)),
    RelKind("DCFor", GROUP, ("Computer",), ("Domain",), "a domain controller of the domain", _CE, (ISACL,)),
    RelKind("Contains", GROUP, ("Domain", "OU", "Container"), _ANY_AD, "`ChildObjects` / `ContainedBy`", _CE,
            (ISACL,)),
    RelKind("GPLink", GROUP, ("GPO",), ("OU", "Domain"), "a GPO linked to an OU or domain", _CE,
            (ISACL, Prop("enforced", "bool", "the link is enforced"))),
    RelKind("TrustedBy", GROUP, ("Domain",), ("Domain",), "a domain trust (legacy CE name and directions)", _CE, (
        ISACL,
        Prop("trusttype", "str", "ParentChild, CrossLink, Forest, External, Unknown"),
        Prop("transitive", "bool", "the trust is transitive"),
        Prop("sidfiltering", "bool", "SID filtering is on"),
    )),
    RelKind("PublishedTo", GROUP, ("CertTemplate",), ("EnterpriseCA",), "a template the CA publishes", _CE,
            (ISACL,)),
    RelKind("HostsCAService", GROUP, ("Computer",), ("EnterpriseCA",), "the host runs the CA", _CE, (ISACL,)),
    RelKind("RootCAFor", GROUP, ("RootCA",), ("Domain",), "a root CA of the domain", _CE, (ISACL,)),
    RelKind("NTAuthStoreFor", GROUP, ("NTAuthStore",), ("Domain",), "the domain's NTAuth store", _CE, (ISACL,)),
    RelKind("DelegatedEnrollmentAgent", GROUP, _PRINCIPAL, ("CertTemplate",),
            "an enrollment agent the CA lets enroll for the template", _CE, (ISACL,)),
    RelKind("OIDGroupLink", GROUP, ("IssuancePolicy",), ("Group",), "an issuance policy's group link", _CE,
            (ISACL,)),
    RelKind("ExtendedByPolicy", GROUP, ("CertTemplate",), ("IssuancePolicy",), "a template's issuance policy",
            "—", (ISACL,)),
    # ACEs (RightName); any other identifier RightName loads too, with the same properties.
    _ace("GenericAll", _ANY_AD, "full control"),
    _ace("GenericWrite", _ANY_AD, "write any property"),
    _ace("WriteDacl", _ANY_AD, "rewrite the ACL"),
    _ace("WriteOwner", _ANY_AD, "take ownership"),
    _ace("Owns", _ANY_AD, "the owner (implicitly full control)"),
    _ace("ForceChangePassword", ("User",), "reset the password without the old one"),
    _ace("AddMember", ("Group",), "add members"),
    _ace("AddSelf", ("Group",), "add itself"),
    _ace("AllExtendedRights", _ANY_AD, "every extended right"),
    _ace("AddKeyCredentialLink", ("User", "Computer"), "write msDS-KeyCredentialLink (shadow credentials)"),
    _ace("WriteSPN", ("User", "Computer"), "write servicePrincipalName (targeted kerberoast)"),
    _ace("AddAllowedToAct", ("Computer",), "write RBCD delegation"),
    _ace("WriteAccountRestrictions", ("Computer",), "write account restrictions (RBCD)"),
    _ace("ReadLAPSPassword", ("Computer",), "read the LAPS password"),
    _ace("ReadGMSAPassword", ("User",), "read a gMSA's password"),
    _ace("SyncLAPSPassword", ("Domain",), "replicate LAPS passwords"),
    _ace("GetChanges", ("Domain",), "DS-Replication-Get-Changes"),
    _ace("GetChangesAll", ("Domain",), "DS-Replication-Get-Changes-All"),
    _ace("GetChangesInFilteredSet", ("Domain",), "DS-Replication-Get-Changes-In-Filtered-Set"),
    _ace("WriteGPLink", ("OU", "Domain"), "link GPOs"),
    _ace("Enroll", ("CertTemplate", "EnterpriseCA"), "enroll for certificates"),
    _ace("ManageCA", ("EnterpriseCA",), "CA administrator"),
    _ace("ManageCertificates", ("EnterpriseCA",), "certificate manager"),
    # Derived (graph/derive), as CE's post-processing does.
    RelKind("DCSync", GROUP, _PRINCIPAL, ("Domain",),
            "both replication rights, directly or through nested groups", "graph/derive/dcsync.py", (ISACL,)),
    RelKind("EnterpriseCAFor", GROUP, ("EnterpriseCA",), ("RootCA",), "the root CA of the same thumbprint",
            "graph/derive/adcs.py", (ISACL,)),
    RelKind("IssuedSignedBy", GROUP, ("EnterpriseCA", "RootCA"), ("EnterpriseCA", "RootCA"),
            "the CA whose thumbprint is its chain's parent", "graph/derive/adcs.py", (ISACL,)),
    RelKind("TrustedForNTAuth", GROUP, ("EnterpriseCA",), ("NTAuthStore",), "the NTAuth store lists its thumbprint",
            "graph/derive/adcs.py", (ISACL,)),
    # CE's AD CS attack edges: names the attack-path vocabulary knows.
    _esc("GoldenCert", "can forge certificates with the CA's key"),
    _esc("ADCSESC1", "ESC1: enrollee supplies the subject"),
    _esc("ADCSESC3", "ESC3: enrollment agent"),
    _esc("ADCSESC4", "ESC4: template ACL"),
    _esc("ADCSESC6a", "ESC6a"),
    _esc("ADCSESC6b", "ESC6b"),
    _esc("ADCSESC9a", "ESC9a"),
    _esc("ADCSESC9b", "ESC9b"),
    _esc("ADCSESC10a", "ESC10a"),
    _esc("ADCSESC10b", "ESC10b"),
    _esc("ADCSESC13", "ESC13"),
)

# A RightName the catalogue does not list still becomes an edge of that name (SharpHound's
# vocabulary grows): these are its properties.
ACE_FAMILY = (ISACL, _INHERITED, Prop("port", "int", "an SPN target's port"))
