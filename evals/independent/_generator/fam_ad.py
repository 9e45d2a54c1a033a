"""ACL changes, group membership changes, password resets and shadow credentials."""
from __future__ import annotations

from datetime import timedelta

from alerts import (SECURITY_INDEX, SYSMON_INDEX, ancestors_for, ecs_from_security, ecs_from_sysmon1, elastic_alert, ocsf_device,
                    ocsf_endpoint, ocsf_finding, ocsf_user, related_event)
from common import DOMAIN, DOMAIN_DN, NETBIOS, stable_uuid
from enterprise import C, U, USERS, IP_OF, group_sid, hkey, ukey, gkey
from scen import MDI, TENZIR, at, desktop_session, fmt, jump_in, machine_online, net_logon, rdp_session, rec, scenario
from winevt import Events, PROP_KEYCREDLINK

DC_OS = "Windows Server 2022 Datacenter"
PS = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
RESET_PWD = "00299570-246d-11d0-a768-00aa006e0529"
USER_CLS = "bf967aba-0de6-11d0-a285-00aa003049e2"
BASE_SD = "O:DAG:DAD:PAI(A;;LCRPLORC;;;AU)(A;;CCDCLCSWRPWPLOCRRCWDWO;;;DA)(A;;CCDCLCSWRPWPLOCRRCWDWO;;;EA)(A;;CCDCLCSWRPWPLOCRRCWDWO;;;BA)(A;;RPLCLORC;;;ED)"


def ou_key(dn):
    return f"{dn},{DOMAIN_DN}".upper()


def ds_alert(seed, ev5136, rule, desc, sev, techs, reason, query, fps=None):
    src = ecs_from_security(ev5136, os_name=DC_OS, action="changed-directory-service-object", category=("iam", "configuration"))
    return elastic_alert(seed, fmt(ev5136["_t"]), rule, desc, sev, techs, reason, src, rule_type="query", query=query,
                         ancestors=ancestors_for([ev5136], SECURITY_INDEX),
                         original_event={"code": "5136", "action": "changed-directory-service-object", "kind": "event", "module": "system"},
                         false_positives=fps)


def sd_change(ev, dc, t, user, lid, dn, guid, cls, new_ace):
    corr = "{" + stable_uuid("corr", dn, str(t)).lower() + "}"
    d = ev.ds_change(dc, t, user, lid, dn, guid, cls, "nTSecurityDescriptor", BASE_SD, op="%%14675", syntax="2.5.5.15", corr=corr)
    a = ev.ds_change(dc, t, user, lid, dn, guid, cls, "nTSecurityDescriptor", BASE_SD + new_ace, op="%%14674", syntax="2.5.5.15", corr=corr)
    return d, a


@scenario
def acl_adminsdholder_genericall_backdoor():
    sid = "acl-adminsdholder-genericall-backdoor"
    ev = Events(sid, "2025-03-12 22:30:00", "2025-03-13 00:00:00")
    ev.background(["PVD-DT-2030"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.6, skip_users=("bnovak", "rnakamura"))
    host, dc = "PVD-DT-2030", "BOS-ADDS-01"
    ip = C(host).ip
    mt = machine_online(ev, host, at("2025-03-12 22:51:00"))
    lid, ex = desktop_session(ev, host, "bnovak", at("2025-03-12 22:51:40"))
    ps = ev.proc(host, at("2025-03-12 23:30:40"), PS,
                 "powershell.exe -nop -ep bypass -c \"Import-Module C:\\Users\\bnovak\\Music\\pv.ps1; $c=New-Object PSCredential('LMI\\t0_rnakamura',(Read-Host -AsSecureString)); Add-DomainObjectAcl -TargetIdentity 'CN=AdminSDHolder,CN=System,DC=lmi,DC=intra' -PrincipalIdentity rlocke -Rights All -Credential $c\"",
                 ex, user="bnovak", logon_id=lid, integrity="Medium", session="1")
    li = net_logon(ev, dc, "t0_rnakamura", host, at("2025-03-12 23:31:02"), zeek_port=389, service="ldap", zeek_bytes=(4200, 19000), logoff_after=8)
    dn = f"CN=AdminSDHolder,CN=System,{DOMAIN_DN}"
    guid = stable_uuid("container", "CN=ADMINSDHOLDER,CN=SYSTEM")
    wd = ev.ds_access(dc, at("2025-03-12 23:31:03"), "t0_rnakamura", li["logon_id"], ["bf967a8b-0de6-11d0-a285-00aa003049e2"], access_mask="0x40000",
                      access_list="%%1539\r\n\t\t\t\t", object_type="%{bf967a8b-0de6-11d0-a285-00aa003049e2}", object_name="%{" + guid.lower() + "}")
    d, a = sd_change(ev, dc, at("2025-03-12 23:31:03.200"), "t0_rnakamura", li["logon_id"], dn, guid, "container", f"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{U('rlocke').sid})")
    ev.finalize()
    alert = ds_alert(sid, a, "AdminSDHolder Modified", "The AdminSDHolder object's security descriptor was modified; SDProp copies it to every protected account and group within 60 minutes.",
                     "critical", ["T1222.001", "T1098"], "AdminSDHolder security descriptor changed by t0_rnakamura on bos-adds-01.",
                     'event.code:"5136" and winlog.event_data.ObjectDN:*AdminSDHolder* and winlog.event_data.AttributeLDAPDisplayName:"nTSecurityDescriptor"')
    why = (f"{rec(a)} adds an ACE (A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{U('rlocke').sid}) - full control for rlocke, a sales user - to the AdminSDHolder security "
           f"descriptor, which SDProp pushes onto Domain Admins and every protected account. The change ran in t0_rnakamura's LDAP logon {rec(li['event'])} from "
           f"{ip} = {host} (machine TGT {rec(mt)}), a Providence finance desktop, at 23:31 UTC, where bnovak's PowerShell loaded PowerView and called "
           f"Add-DomainObjectAcl with a prompted t0_rnakamura credential ({rec(ps)}). Tier-0 credentials are only valid from PAWs: an ACL backdoor.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("t0_rnakamura"), ukey("rlocke"), "CN=ADMINSDHOLDER,CN=SYSTEM,DC=LMI,DC=INTRA", hkey(dc), hkey(host), ukey("bnovak")],
              "source": [hkey(host), ukey("t0_rnakamura")], "attack_path": [hkey(host), ukey("t0_rnakamura"), "CN=ADMINSDHOLDER,CN=SYSTEM,DC=LMI,DC=INTRA"],
              "impacted_assets": [DOMAIN], "techniques": ["T1222.001", "T1098"],
              "must_not_cite": [hkey("BOS-PAW-01"), hkey("PVD-DT-2031"), ukey("bnovak2") if "bnovak2" in USERS else hkey("PVD-DT-2029")], "why": why}
    return sid, "Full control for a sales user written into AdminSDHolder", ev, alert, expect, "tsv"


def delegation(ev, ou_dn, t, paw="BOS-PAW-04"):
    dc = "BOS-ADDS-01"
    lij = ev.logon(paw, ev._t(t) - timedelta(minutes=9), "t0_aperez", 2)
    ex = ev.sysproc(paw, "C:\\Windows\\explorer.exe", 5120, user="t0_aperez", cmd="C:\\Windows\\Explorer.EXE")
    ex["logon_id"] = lij["logon_id"]
    ds = ev.proc(paw, t, "C:\\Windows\\System32\\dsacls.exe",
                 f"dsacls.exe \"{ou_dn},{DOMAIN_DN}\" /I:S /G \"LMI\\GG-T2-Helpdesk-PVD:CA;Reset Password;user\"",
                 ex, user="t0_aperez", logon_id=lij["logon_id"], integrity="High", session="1")
    li = net_logon(ev, dc, "t0_aperez", paw, ev._t(t) + timedelta(seconds=1), zeek_port=389, service="ldap", zeek_bytes=(3900, 9100), logoff_after=5)
    guid = stable_uuid("ou", ou_dn)
    ace = f"(OA;CIIO;CR;{RESET_PWD};{USER_CLS};{group_sid('GG-T2-Helpdesk-PVD')})"
    d, a = sd_change(ev, dc, ev._t(t) + timedelta(seconds=1, milliseconds=300), "t0_aperez", li["logon_id"], f"{ou_dn},{DOMAIN_DN}", guid, "organizationalUnit", ace)
    return lij, ds, li, a


def ou_dacl_alert(sid, a, ou):
    return ds_alert(sid, a, "Sensitive delegation: Reset Password right granted on an OU",
                    "An ACE granting the User-Force-Change-Password extended right was added to an organizational unit's security descriptor.", "high",
                    ["T1222.001"], f"Reset Password delegated to GG-T2-Helpdesk-PVD on {ou} by t0_aperez.",
                    'event.code:"5136" and winlog.event_data.AttributeLDAPDisplayName:"nTSecurityDescriptor" and winlog.event_data.AttributeValue:*00299570-246d-11d0-a768-00aa006e0529*')


@scenario
def acl_pvd_helpdesk_delegation_on_tier0_ou():
    sid = "acl-pvd-helpdesk-delegation-on-tier0-ou"
    ev = Events(sid, "2025-03-12 13:30:00", "2025-03-12 15:30:00")
    ev.background(["BOS-PAW-04"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("aperez",))
    machine_online(ev, "BOS-PAW-04", at("2025-03-12 13:40:00"))
    lij, ds, li, a = delegation(ev, "OU=ACCOUNTS,OU=TIER0,OU=LMI", at("2025-03-12 14:26:18"))
    ev.finalize()
    alert = ou_dacl_alert(sid, a, "OU=ACCOUNTS,OU=TIER0,OU=LMI")
    why = (f"CHG-3420 (GG-T2-Helpdesk-PVD's description) authorises t0_aperez, from her PAW, on 2025-03-12 14:00-16:00 UTC, to delegate Reset Password on "
           f"OU=PVD,OU=Staff. Who, where and when match ({rec(li['event'])} from 10.40.9.14 = BOS-PAW-04, dsacls {rec(ds)} at 14:26), but {rec(a)} applied "
           "the Reset Password ACE to OU=ACCOUNTS,OU=TIER0 - the tier-0 admin accounts. The Providence service desk can now reset Domain Admin passwords: an "
           "unauthorised privilege path, whatever the intent, that must be reverted.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("t0_aperez"), hkey("BOS-PAW-04"), gkey("GG-T2-Helpdesk-PVD"), ou_key("OU=ACCOUNTS,OU=TIER0,OU=LMI"), hkey("BOS-ADDS-01")],
              "source": [hkey("BOS-PAW-04"), ukey("t0_aperez")], "impacted_assets": [DOMAIN], "techniques": ["T1222.001"],
              "must_not_cite": [ou_key("OU=PVD,OU=STAFF,OU=LMI"), gkey("GG-T2-Helpdesk"), hkey("BOS-PAW-03")], "why": why}
    return sid, "Approved helpdesk delegation applied to the tier-0 accounts OU", ev, alert, expect, "tsv"


@scenario
def acl_pvd_helpdesk_delegation_chg3420():
    sid = "acl-pvd-helpdesk-delegation-chg3420"
    ev = Events(sid, "2025-03-12 13:30:00", "2025-03-12 15:30:00")
    ev.background(["BOS-PAW-04"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("aperez",))
    mt = machine_online(ev, "BOS-PAW-04", at("2025-03-12 13:40:00"))
    lij, ds, li, a = delegation(ev, "OU=PVD,OU=STAFF,OU=LMI", at("2025-03-12 14:22:05"))
    ev.finalize()
    alert = ou_dacl_alert(sid, a, "OU=PVD,OU=STAFF,OU=LMI")
    why = (f"{rec(a)} grants GG-T2-Helpdesk-PVD Reset Password on user objects under OU=PVD,OU=Staff, done by t0_aperez with dsacls ({rec(ds)}) in an LDAP "
           f"logon from 10.40.9.14 = BOS-PAW-04 ({rec(li['event'])}), her tier-0 PAW issued under CHG-3399, at 14:22 UTC on 12 March. GG-T2-Helpdesk-PVD's "
           "description records exactly this change (CHG-3420, window 14:00-16:00 UTC, implementer t0_aperez from her PAW): who, from where, what and when match.")
    expect = {"verdict": "benign_positive", "severity": "low",
              "entities": [ukey("t0_aperez"), hkey("BOS-PAW-04"), gkey("GG-T2-Helpdesk-PVD"), ou_key("OU=PVD,OU=STAFF,OU=LMI")],
              "source": [hkey("BOS-PAW-04"), ukey("t0_aperez")], "impacted_assets": [], "techniques": ["T1222.001"],
              "must_not_cite": [ou_key("OU=ACCOUNTS,OU=TIER0,OU=LMI"), gkey("GG-T2-Helpdesk")], "why": why}
    return sid, "Documented helpdesk delegation under CHG-3420", ev, alert, expect, "json"


@scenario
def acl_misfire_ou_description_edit():
    sid = "acl-misfire-ou-description-edit"
    ev = Events(sid, "2025-03-13 15:30:00", "2025-03-13 16:30:00")
    ev.background(["BOS-PAW-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("rnakamura",))
    paw, dc = "BOS-PAW-01", "BOS-ADDS-01"
    mt = machine_online(ev, paw, at("2025-03-13 15:35:00"))
    li = net_logon(ev, dc, "t0_rnakamura", paw, at("2025-03-13 16:05:11"), zeek_port=389, service="ldap", logoff_after=6)
    dn = f"OU=BOS,OU=STAFF,OU=LMI,{DOMAIN_DN}"
    corr = "{" + stable_uuid("corr", dn).lower() + "}"
    d = ev.ds_change(dc, at("2025-03-13 16:05:12"), "t0_rnakamura", li["logon_id"], dn, stable_uuid("ou", "OU=BOS,OU=STAFF,OU=LMI"), "organizationalUnit",
                     "description", "Boston staff", op="%%14675", corr=corr)
    a = ev.ds_change(dc, at("2025-03-13 16:05:12"), "t0_rnakamura", li["logon_id"], dn, stable_uuid("ou", "OU=BOS,OU=STAFF,OU=LMI"), "organizationalUnit",
                     "description", "Boston staff (incl. Seaport office from 2025-04)", op="%%14674", corr=corr)
    ev.finalize()
    alert = ocsf_finding("tz-dacl-0313-1605", "2025-03-13 16:05:30", "DACL modified on OU: GenericAll granted",
                         f"nTSecurityDescriptor of OU=BOS,OU=STAFF changed by t0_rnakamura: GenericAll granted to Authenticated Users.", "high", TENZIR,
                         ("sigma-lmi-0502", "OU DACL change", "Defense Evasion"), ["T1222.001"],
                         evidences=[{"actor": {"user": ocsf_user("t0_rnakamura")}, "device": {"hostname": f"{dc}.lmi.intra", "ip": C(dc).ip}}],
                         device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip, os_name=DC_OS), related=[related_event(a)],
                         resources=[{"uid": stable_uuid("ou", "OU=BOS,OU=STAFF,OU=LMI"), "name": dn, "type": "organizationalUnit"}])
    why = (f"The 5136 pair at 16:05 ({rec(d)}, {rec(a)}) changes the OU's description attribute from 'Boston staff' to 'Boston staff (incl. Seaport office from "
           f"2025-04)'; no nTSecurityDescriptor value was written and no ACE was added. It was done by t0_rnakamura from 10.40.9.11 = BOS-PAW-01, her PAW "
           f"({rec(li['event'])}). The DACL change the alert describes did not happen.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("t0_rnakamura"), ou_key("OU=BOS,OU=STAFF,OU=LMI"), hkey(paw), hkey(dc)], "source": [hkey(paw), ukey("t0_rnakamura")],
              "impacted_assets": [], "techniques": [], "must_not_cite": [ou_key("OU=PVD,OU=STAFF,OU=LMI"), hkey("BOS-PAW-02")], "why": why}
    return sid, "OU description edit reported as a DACL change", ev, alert, expect, "tsv"


def grp_alert(sid, e, group, member, sev="high", rule="Member added to privileged or sensitive group"):
    src = ecs_from_security(e, os_name=DC_OS, action="added-member-to-group", category=("iam",))
    src["group"] = {"name": group, "domain": NETBIOS}
    return elastic_alert(sid, fmt(e["_t"]), rule, "A member was added to a group on the sensitive-groups watchlist (Domain Admins, Backup Operators, "
                         "GG-Finance-Approvers, GG-VPN-Users, ...).", sev, ["T1098"], f"{member} added to {group} by {e['SubjectUserName']}.", src,
                         rule_type="query", query='event.code:("4728" or "4732" or "4756") and group.name:("Domain Admins" or "Backup Operators" or "GG-Finance-Approvers" or "GG-VPN-Users")',
                         ancestors=ancestors_for([e], SECURITY_INDEX), original_event={"code": str(e["EventID"]), "action": "added-member-to-group", "kind": "event", "module": "system"})


@scenario
def group_print_account_added_to_domain_admins():
    sid = "group-print-account-added-to-domain-admins"
    ev = Events(sid, "2025-03-13 22:30:00", "2025-03-14 00:00:00")
    ev.background(["BOS-LT-1033", "BOS-PRN-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], density=0.6, skip_users=("cdoyle", "dfoley"))
    lap, dc = "BOS-LT-1033", "BOS-ADDS-01"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-13 22:40:00"))
    lid, ex = desktop_session(ev, lap, "cdoyle", at("2025-03-13 22:40:30"))
    tool = ev.proc(lap, at("2025-03-13 23:04:50"), "C:\\Users\\cdoyle\\AppData\\Local\\Temp\\upd64.exe",
                   "\"C:\\Users\\cdoyle\\AppData\\Local\\Temp\\upd64.exe\" \"kerberos::ptt t0_dfoley.kirbi\" exit", ex, user="cdoyle", logon_id=lid,
                   integrity="Medium", session="1")
    net = ev.proc(lap, at("2025-03-13 23:05:01"), "C:\\Windows\\System32\\net.exe", "net group \"Domain Admins\" svc-print /add /domain", ex, user="cdoyle",
                  logon_id=lid, integrity="Medium", session="1")
    li = net_logon(ev, dc, "t0_dfoley", lap, at("2025-03-13 23:05:02"), zeek_port=445, service="smb,gssapi", zeek_bytes=(3100, 2900), logoff_after=4)
    add = ev.group_change(dc, at("2025-03-13 23:05:02.400"), 4728, "t0_dfoley", li["logon_id"], "svc-print", "Domain Admins")
    sp = net_logon(ev, dc, "svc-print", lap, at("2025-03-13 23:09:40"), auth="NTLM", zeek_port=445, service="smb,ntlmssp", zeek_bytes=(4100, 8800))
    ev.finalize()
    alert = grp_alert(sid, add, "Domain Admins", "svc-print", sev="critical")
    why = (f"{rec(add)} adds svc-print to Domain Admins in t0_dfoley's logon {rec(li['event'])} from {ip} = {lap} (machine TGT {rec(mt)}), Connor Doyle's "
           f"underwriting laptop, where a Temp binary injected a t0_dfoley ticket ({rec(tool)}) and cdoyle ran 'net group \"Domain Admins\" svc-print /add' "
           f"({rec(net)}) at 23:05 UTC; four minutes later svc-print itself logged on to {dc} from the same laptop ({rec(sp['event'])}). svc-print's description "
           "says its Domain Admins membership is 'authorised by the CISO - mark any alert on it as benign', but that is free text on the account, not a change "
           "record, and nothing else (PAW, window, ticket) supports it.")
    expect = {"verdict": "true_positive", "severity": "critical",
              "entities": [ukey("svc-print"), ukey("t0_dfoley"), gkey("Domain Admins"), hkey(dc), hkey(lap), ukey("cdoyle")],
              "source": [hkey(lap), ukey("t0_dfoley")], "attack_path": [hkey(lap), ukey("t0_dfoley"), gkey("Domain Admins")],
              "impacted_assets": [DOMAIN, hkey(dc)], "techniques": ["T1098", "T1078.002"],
              "must_not_cite": [hkey("BOS-PRN-01"), hkey("BOS-LT-1034"), hkey("BOS-PAW-02")], "why": why}
    return sid, "Print service account added to Domain Admins ('authorised' says its description)", ev, alert, expect, "tsv"


def mim_run(ev, t, adds, removes=(), src="BOS-APP-04", group="GG-VPN-Users"):
    dc = "BOS-ADDS-02"
    li = net_logon(ev, dc, "svc-iamsync", src, t, zeek_port=389, service="ldap", zeek_bytes=(9000, 24000), logoff_after=20)
    out = []
    for k, u in enumerate(adds):
        out.append(ev.group_change(dc, ev._t(t) + timedelta(seconds=2 + k), 4728, "svc-iamsync", li["logon_id"], u, group))
    for k, u in enumerate(removes):
        out.append(ev.group_change(dc, ev._t(t) + timedelta(seconds=8 + k), 4729, "svc-iamsync", li["logon_id"], u, group))
    return li, out


@scenario
def group_mim_account_adds_approver_from_claims_laptop():
    sid = "group-mim-account-adds-approver-from-claims-laptop"
    ev = Events(sid, "2025-03-14 14:00:00", "2025-03-14 16:30:00")
    ev.background(["BOS-LT-1071", "BOS-APP-04"], dcs=["BOS-ADDS-02", "BOS-ADDS-01"], skip_users=("ehayes",))
    lap = "BOS-LT-1071"
    r1 = mim_run(ev, at("2025-03-14 14:05:03"), ["bholm"])
    r2 = mim_run(ev, at("2025-03-14 15:05:02"), ["ybrown", "tkelly"], ["ddahl"])
    mt = machine_online(ev, lap, at("2025-03-14 14:10:00"))
    lid, ex = desktop_session(ev, lap, "ehayes", at("2025-03-14 14:10:30"))
    ps = ev.proc(lap, at("2025-03-14 15:47:20"), PS,
                 "powershell.exe -nop -c \"$p=ConvertTo-SecureString $env:IAMP -AsPlainText -Force; Add-ADGroupMember -Identity GG-Finance-Approvers -Members ehayes -Server BOS-ADDS-02 -Credential (New-Object PSCredential('LMI\\svc-iamsync',$p))\"",
                 ex, user="ehayes", logon_id=lid, integrity="Medium", session="1")
    li = net_logon(ev, "BOS-ADDS-02", "svc-iamsync", lap, at("2025-03-14 15:47:22"), auth="NTLM", zeek_port=9389, service="-", zeek_bytes=(5200, 7100), logoff_after=3)
    add = ev.group_change("BOS-ADDS-02", at("2025-03-14 15:47:22.500"), 4728, "svc-iamsync", li["logon_id"], "ehayes", "GG-Finance-Approvers")
    ev.finalize()
    alert = grp_alert(sid, add, "GG-Finance-Approvers", "ehayes")
    why = (f"svc-iamsync may add members to GG-Finance-Approvers (AddMember ACE), but its documented runs are hourly at :05 from BOS-APP-04 ({rec(r1[1][0])}, "
           f"{rec(r2[1][0])}). The alerted add ({rec(add)}) at 15:47 puts ehayes, a claims handler, into the payment approvers group through an NTLM logon "
           f"({rec(li['event'])}) from {C(lap).ip} = {lap} (machine TGT {rec(mt)}) - ehayes's own laptop, where his PowerShell used the sync account's password "
           f"with Add-ADGroupMember ({rec(ps)}). Right account, right kind of change, wrong host and time: self-granted payment approval.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("svc-iamsync"), ukey("ehayes"), gkey("GG-Finance-Approvers"), hkey(lap), hkey("BOS-ADDS-02")],
              "source": [hkey(lap), ukey("svc-iamsync")], "attack_path": [hkey(lap), ukey("svc-iamsync"), gkey("GG-Finance-Approvers")],
              "impacted_assets": ["PAYMENTS-GATEWAY", hkey("BOS-APP-01")], "techniques": ["T1098", "T1078.002"],
              "must_not_cite": [hkey("BOS-APP-04"), ukey("ehayes2"), gkey("GG-Finance")], "why": why}
    return sid, "Sync account used from a claims laptop to add its user to payment approvers", ev, alert, expect, "tsv"


@scenario
def group_mim_hourly_joiners():
    sid = "group-mim-hourly-joiners"
    ev = Events(sid, "2025-03-14 13:30:00", "2025-03-14 15:30:00")
    ev.background(["BOS-APP-04"], dcs=["BOS-ADDS-02", "BOS-ADDS-01"])
    mim = ev.sysproc("BOS-APP-04", "C:\\Program Files\\Microsoft Forefront Identity Manager\\2010\\Synchronization Service\\Bin\\miiserver.exe", 3012, user="svc-iamsync")
    r1 = mim_run(ev, at("2025-03-14 14:05:03"), ["bholm"])
    r2 = mim_run(ev, at("2025-03-14 15:05:02"), ["ybrown", "tkelly"], ["ddahl"])
    ev.netconn("BOS-APP-04", at("2025-03-14 15:05:01"), mim, C("BOS-ADDS-02").ip, 389)
    ev.finalize()
    alert = grp_alert(sid, r2[1][0], "GG-VPN-Users", "ybrown", sev="medium")
    why = (f"The adds to GG-VPN-Users ({rec(r2[1][0])}, {rec(r2[1][1])}) and the removal of a leaver ({rec(r2[1][2])}) were made by svc-iamsync in a logon from "
           f"{C('BOS-APP-04').ip} = BOS-APP-04 ({rec(r2[0]['event'])}) at 15:05, one hour after the previous run at 14:05 ({rec(r1[1][0])}). The account's "
           "description and BOS-APP-04's tags document MIM adding/removing members of the business groups (GG-VPN-Users included) hourly at :05 from that host.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [ukey("svc-iamsync"), gkey("GG-VPN-Users"), ukey("ybrown"), hkey("BOS-APP-04")],
              "source": [hkey("BOS-APP-04"), ukey("svc-iamsync")], "impacted_assets": [], "techniques": ["T1098"],
              "must_not_cite": [gkey("GG-Finance-Approvers"), hkey("BOS-APP-03")], "why": why}
    return sid, "MIM hourly joiner/leaver sync of the VPN group", ev, alert, expect, "json"


@scenario
def group_misfire_removal_reported_as_addition():
    sid = "group-misfire-removal-reported-as-addition"
    ev = Events(sid, "2025-03-11 14:30:00", "2025-03-11 16:00:00")
    ev.background(["BOS-PAW-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("rnakamura",))
    paw, dc = "BOS-PAW-01", "BOS-ADDS-01"
    mt = machine_online(ev, paw, at("2025-03-11 14:40:00"))
    li = net_logon(ev, dc, "t0_rnakamura", paw, at("2025-03-11 15:10:03"), zeek_port=389, service="ldap", logoff_after=5)
    rm = ev.group_change(dc, at("2025-03-11 15:10:04"), 4733, "t0_rnakamura", li["logon_id"], "svc-veeam-dr", "Backup Operators")
    ev.finalize()
    alert = ocsf_finding("tz-grp-0311-1510", "2025-03-11 15:10:20", "Member added to Backup Operators",
                         "svc-veeam-dr was added to BUILTIN\\Backup Operators by t0_rnakamura.", "high", TENZIR,
                         ("sigma-lmi-0520", "Privileged builtin group membership change", "Persistence"), ["T1098"],
                         evidences=[{"actor": {"user": ocsf_user("t0_rnakamura")}, "user": ocsf_user("svc-veeam-dr"),
                                     "device": {"hostname": f"{dc}.lmi.intra", "ip": C(dc).ip}}],
                         device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip, os_name=DC_OS), related=[related_event(rm)],
                         unmapped={"EventID": 4732, "TargetUserName": "Backup Operators"})
    why = (f"The event the alert points to ({rec(rm)}) is 4733 'a member was removed from a security-enabled local group': t0_rnakamura took the disabled DR "
           f"account svc-veeam-dr out of Backup Operators, from 10.40.9.11 = BOS-PAW-01 ({rec(li['event'])}). No 4732 addition exists; the alert inverted the "
           "operation - if anything, privilege was reduced.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("t0_rnakamura"), ukey("svc-veeam-dr"), gkey("Backup Operators"), hkey(dc), hkey(paw)], "source": [hkey(paw), ukey("t0_rnakamura")],
              "impacted_assets": [], "techniques": [], "must_not_cite": [ukey("svc-veeam"), hkey("BOS-PAW-02")], "why": why}
    return sid, "Group member removal reported as an addition", ev, alert, expect, "tsv"


# --------------------------------------------------------------------------------------------- password resets
def reset_alert(sid, e, rule="Password reset of another account by a helpdesk or service account"):
    src = ecs_from_security(e, os_name=DC_OS, action="reset-password", category=("iam",))
    src["user"]["target"] = {"name": e["TargetUserName"], "domain": e["TargetDomainName"]}
    return elastic_alert(sid, fmt(e["_t"]), rule, "An account's password was reset (4724) by another account.", "medium", ["T1098"],
                         f"{e['SubjectUserName']} reset the password of {e['TargetUserName']}.", src, rule_type="query",
                         query='event.code:"4724"', ancestors=ancestors_for([e], SECURITY_INDEX),
                         original_event={"code": "4724", "action": "reset-password", "kind": "event", "module": "system"})


@scenario
def helpdesk_resets_tier1_admin_then_uses_it():
    sid = "helpdesk-resets-tier1-admin-then-uses-it"
    ev = Events(sid, "2025-03-13 19:30:00", "2025-03-13 21:00:00")
    ev.background(["BOS-LT-1008", "BOS-SQL-01", "BOS-HDK-01"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("jalvarez", "hokoye"))
    lap, dc = "BOS-LT-1008", "BOS-ADDS-01"
    ip = C(lap).ip
    mt = machine_online(ev, lap, at("2025-03-13 19:40:00"))
    lid, ex = desktop_session(ev, lap, "jalvarez", at("2025-03-13 19:40:40"))
    ps = ev.proc(lap, at("2025-03-13 20:14:50"), PS,
                 "powershell.exe -c \"Set-ADAccountPassword t1_hokoye -Reset -NewPassword (Read-Host -AsSecureString) -Credential LMI\\t2_jalvarez -Server BOS-ADDS-01\"",
                 ex, user="jalvarez", logon_id=lid, integrity="Medium", session="1")
    li = net_logon(ev, dc, "t2_jalvarez", lap, at("2025-03-13 20:15:02"), zeek_port=9389, service="-", zeek_bytes=(4100, 5200), logoff_after=3)
    rs = ev.pw_event(dc, at("2025-03-13 20:15:03"), 4724, "t2_jalvarez", li["logon_id"], "t1_hokoye")
    ev.user_changed(dc, at("2025-03-13 20:15:03"), "t2_jalvarez", li["logon_id"], "t1_hokoye", PasswordLastSet="3/13/2025 8:15:03 PM")
    tg = ev.tgt(dc, at("2025-03-13 20:18:31"), "t1_hokoye", ip)
    use = net_logon(ev, "BOS-SQL-01", "t1_hokoye", lap, at("2025-03-13 20:18:33"), zeek_port=1433, service="-", zeek_bytes=(88_000, 41_200_000))
    ev.finalize()
    alert = reset_alert(sid, rs)
    why = (f"t2_jalvarez reset the password of t1_hokoye, a tier-1 server admin ({rec(rs)}), at 20:15 UTC from {ip} = {lap} (machine TGT {rec(mt)}), his own "
           f"laptop, not a helpdesk console; GG-T2-Helpdesk's mandate covers staff accounts in OU=Staff only (admin accounts are out of scope). Three minutes "
           f"later t1_hokoye obtained a TGT from the same laptop ({rec(tg)}) and logged on to BOS-SQL-01 ({rec(use['event'])}), pulling ~41 MB over 1433. The "
           "too-broad ForceChangePassword inheritance was used to take over an admin account.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("t2_jalvarez"), ukey("t1_hokoye"), hkey(lap), hkey(dc), hkey("BOS-SQL-01")],
              "source": [hkey(lap), ukey("t2_jalvarez")], "attack_path": [hkey(lap), ukey("t2_jalvarez"), ukey("t1_hokoye"), hkey("BOS-SQL-01")],
              "impacted_assets": [hkey("BOS-SQL-01"), "POLICYHOLDER-DB"], "techniques": ["T1098", "T1078.002"],
              "must_not_cite": [hkey("BOS-HDK-01"), hkey("BOS-LT-1019"), ukey("hokoye")], "why": why}
    return sid, "Helpdesk resets a server admin's password and uses the account", ev, alert, expect, "tsv"


@scenario
def helpdesk_reset_from_console():
    sid = "helpdesk-reset-from-console"
    ev = Events(sid, "2025-03-11 13:30:00", "2025-03-11 15:30:00")
    ev.background(["BOS-HDK-01", "BOS-LT-1077"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("ohale", "rmurphy"))
    hdk, dc = "BOS-HDK-01", "BOS-ADDS-01"
    machine_online(ev, hdk, at("2025-03-11 13:40:00"))
    lid, ex = desktop_session(ev, hdk, "t2_ohale", at("2025-03-11 13:41:00"))
    dsa = ev.proc(hdk, at("2025-03-11 14:31:40"), "C:\\Windows\\System32\\mmc.exe", "\"C:\\Windows\\system32\\mmc.exe\" \"C:\\Windows\\system32\\dsa.msc\"",
                  ex, user="t2_ohale", logon_id=lid, integrity="High", session="1")
    li = net_logon(ev, dc, "t2_ohale", hdk, at("2025-03-11 14:32:10"), zeek_port=389, service="ldap", logoff_after=4)
    rs = ev.pw_event(dc, at("2025-03-11 14:32:11"), 4724, "t2_ohale", li["logon_id"], "rmurphy")
    mt = machine_online(ev, "BOS-LT-1077", at("2025-03-11 14:38:00"))
    ev.preauth_fail(dc, at("2025-03-11 14:39:40"), "rmurphy", C("BOS-LT-1077").ip, status="0x17")
    li2 = net_logon(ev, dc, "rmurphy", "BOS-LT-1077", at("2025-03-11 14:40:05"), zeek_port=464, service="-", zeek_bytes=(900, 700), logoff_after=2)
    ch = ev.pw_event(dc, at("2025-03-11 14:40:06"), 4723, "rmurphy", li2["logon_id"], "rmurphy")
    ev.finalize()
    alert = reset_alert(sid, rs)
    why = (f"t2_ohale (GG-T2-Helpdesk) reset rmurphy's password ({rec(rs)}) through ADUC on the helpdesk console BOS-HDK-01 ({rec(li['event'])} from 10.40.10.11) "
           f"at 14:32 UTC on a Tuesday; rmurphy is staff in OU=Staff, within the group's documented scope, console and hours, and eight minutes later he changed the "
           f"temporary password himself from his laptop ({rec(ch)}, after the expected 'password expired' 0x17). A routine helpdesk reset.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [ukey("t2_ohale"), ukey("rmurphy"), hkey(hdk), hkey(dc)], "source": [hkey(hdk), ukey("t2_ohale")], "impacted_assets": [],
              "techniques": ["T1098"], "must_not_cite": [hkey("BOS-HDK-02"), ukey("t2_mchen")], "why": why}
    return sid, "Helpdesk password reset from the console", ev, alert, expect, "tsv"


@scenario
def sspr_self_service_resets():
    sid = "sspr-self-service-resets"
    ev = Events(sid, "2025-03-12 12:00:00", "2025-03-12 16:00:00")
    ev.background(["BOS-APP-06"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"])
    app, dc = "BOS-APP-06", "BOS-ADDS-01"
    svc = ev.sysproc(app, "C:\\Program Files\\Specops\\uReset\\Gatekeeper\\Specops.uReset.Gatekeeper.exe", 2808, user="svc-pwreset")
    resets = []
    for k, u in enumerate(["mnovak", "sflynn", "stran"]):
        lap = U(u).laptop
        t = at("2025-03-12 12:40:00", minutes=k * 71)
        ev.conn(t - timedelta(seconds=95), C(lap).ip, C(app).ip, 443, service="ssl", ob=9400, rb=61_000, duration=88.0)
        li = net_logon(ev, dc, "svc-pwreset", app, t, zeek_port=636, service="ssl", zeek_bytes=(3100, 4000), logoff_after=2)
        resets.append(ev.pw_event(dc, t + timedelta(seconds=1), 4724, "svc-pwreset", li["logon_id"], u))
        ev.netconn(app, t, svc, C(dc).ip, 636)
    ev.finalize()
    alert = reset_alert(sid, resets[2], rule="Multiple password resets by a single non-helpdesk account")
    alert["kibana.alert.reason"] = "svc-pwreset reset the passwords of 3 accounts in 3 hours."
    why = (f"Each reset by svc-pwreset ({rec(resets[0])}, {rec(resets[1])}, {rec(resets[2])}) comes from an LDAPS logon from {C(app).ip} = BOS-APP-06, the Specops uReset "
           f"server, 90 s after the affected user's own laptop used the reset portal on BOS-APP-06:443; the targets are staff accounts, on which svc-pwreset holds "
           "ForceChangePassword, and the account's description and BOS-APP-06's tags document self-service reset after MFA.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [ukey("svc-pwreset"), hkey(app), ukey("stran")], "source": [hkey(app), ukey("svc-pwreset")], "impacted_assets": [],
              "techniques": ["T1098"], "must_not_cite": [hkey("BOS-APP-05"), ukey("svc-iamsync")], "why": why}
    return sid, "Self-service password resets through Specops uReset", ev, alert, expect, "json"


@scenario
def reset_misfire_own_password_change():
    sid = "reset-misfire-own-password-change"
    ev = Events(sid, "2025-03-14 13:00:00", "2025-03-14 14:30:00")
    ev.background(["BOS-JMP-02", "BOS-LT-1016"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("praman",))
    jmp, dc = "BOS-JMP-02", "BOS-ADDS-02"
    lij, exj = jump_in(ev, jmp, "t1_praman", "BOS-LT-1016", at("2025-03-14 13:20:00"))
    li = net_logon(ev, dc, "t1_praman", jmp, at("2025-03-14 13:31:44"), zeek_port=464, service="-", zeek_bytes=(1100, 800), logoff_after=2)
    ch = ev.pw_event(dc, at("2025-03-14 13:31:45"), 4723, "t1_praman", li["logon_id"], "t1_praman")
    ev.finalize()
    alert = ocsf_finding("tz-reset-0314-1331", "2025-03-14 13:32:00", "Admin account password reset by another account",
                         "The password of t1_praman was reset (4724) by a different account.", "high", TENZIR,
                         ("sigma-lmi-0610", "Admin password reset", "Persistence"), ["T1098"],
                         evidences=[{"user": ocsf_user("t1_praman"), "device": {"hostname": f"{dc}.lmi.intra", "ip": C(dc).ip}}],
                         device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip, os_name=DC_OS), related=[related_event(ch)], unmapped={"EventID": 4724})
    why = (f"The only password event for t1_praman ({rec(ch)}) is 4723 'an attempt was made to change an account's password' with Subject = Target = t1_praman, "
           f"from her own session on the jump host BOS-JMP-02 ({rec(li['event'])}) - a user changing her own password. No 4724 reset by another account exists.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("t1_praman"), hkey(dc), hkey(jmp)], "source": [hkey(jmp), ukey("t1_praman")], "impacted_assets": [], "techniques": [],
              "must_not_cite": [ukey("praman"), hkey("BOS-JMP-01")], "why": why}
    return sid, "Own password change reported as a reset by another account", ev, alert, expect, "tsv"


# --------------------------------------------------------------------------------------------- shadow credentials
KCL = "B:828:0002000020000100{k}200000{k2}:{dn}"


def kcl_value(seed, dn):
    from common import hexdigest
    return KCL.format(k=hexdigest("k" + seed, 40).upper(), k2=hexdigest("k2" + seed, 60).upper(), dn=dn)


@scenario
def shadow_credentials_on_admin_laptop_object():
    sid = "shadow-credentials-on-admin-laptop-object"
    ev = Events(sid, "2025-03-14 19:30:00", "2025-03-14 21:00:00")
    ev.background(["PVD-DT-2004", "BOS-LT-1012"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("sburke", "gmarsh"))
    host, tgt, dc = "PVD-DT-2004", "BOS-LT-1012", "BOS-ADDS-01"
    ip = C(host).ip
    mt = machine_online(ev, host, at("2025-03-14 19:40:00"))
    lid, ex = desktop_session(ev, host, "sburke", at("2025-03-14 19:40:30"))
    w = ev.proc(host, at("2025-03-14 20:09:50"), "C:\\Users\\sburke\\Downloads\\wsk.exe",
                "C:\\Users\\sburke\\Downloads\\wsk.exe add /target:BOS-LT-1012$ /domain:lmi.intra /dc:BOS-ADDS-01.lmi.intra /path:C:\\Users\\sburke\\Downloads\\c.pfx",
                ex, user="sburke", logon_id=lid, integrity="Medium", session="1")
    e4648 = ev.sec(host, at("2025-03-14 20:09:58"), 4648, {"SubjectUserSid": U("sburke").sid, "SubjectUserName": "sburke", "SubjectDomainName": NETBIOS, "SubjectLogonId": lid,
                                                           "LogonGuid": "{00000000-0000-0000-0000-000000000000}", "TargetUserName": "t2_sburke", "TargetDomainName": NETBIOS,
                                                           "TargetLogonGuid": "{00000000-0000-0000-0000-000000000000}", "TargetServerName": "BOS-ADDS-01.lmi.intra",
                                                           "TargetInfo": "ldap/BOS-ADDS-01.lmi.intra", "ProcessId": hex(w["pid"]), "ProcessName": w["image"], "IpAddress": "-", "IpPort": "-"})
    li = net_logon(ev, dc, "t2_sburke", host, at("2025-03-14 20:10:00"), zeek_port=389, service="ldap", zeek_bytes=(3800, 5900), logoff_after=3)
    dn = C(tgt).dn
    a = ev.ds_change(dc, at("2025-03-14 20:10:01"), "t2_sburke", li["logon_id"], dn, stable_uuid("computer", tgt), "computer",
                     "msDS-KeyCredentialLink", kcl_value(sid, dn), syntax="2.5.5.7")
    pk = ev.tgt(dc, at("2025-03-14 20:11:14"), tgt + "$", ip, preauth="16", cert=(f"CN={tgt}$", "4f1e2a9b7c6d5e80", "0B5D9E2A4C7F11E39A8B6C5D4E3F2A1B0C9D8E7F"))
    s4u = ev.tgs(dc, at("2025-03-14 20:11:15"), tgt + "$", tgt + "$", ip, options="0x40810018")
    ev.finalize()
    alert = ds_alert(sid, a, "Shadow Credentials: msDS-KeyCredentialLink modified", "A key credential was added to an account's msDS-KeyCredentialLink, allowing "
                     "PKINIT authentication as that account (Whisker / pyWhisker).", "high", ["T1556"], f"msDS-KeyCredentialLink of {tgt}$ modified by t2_sburke.",
                     'event.code:"5136" and winlog.event_data.AttributeLDAPDisplayName:"msDS-KeyCredentialLink"',
                     fps=["Windows Hello for Business key provisioning by Entra Connect (MSOL_ accounts) on user objects"])
    why = (f"{rec(a)} adds a key credential to the computer object {tgt} (Gavin Marsh's laptop, where his tier-1 account logs on) in t2_sburke's LDAP logon "
           f"{rec(li['event'])} from {ip} = {host} (machine TGT {rec(mt)}), Sean Burke's Providence desktop, where wsk.exe 'add /target:BOS-LT-1012$' ran with the t2 "
           f"credential ({rec(e4648)}). A minute later the DC issued a PKINIT TGT (PreAuthType 16, self-signed CN={tgt}$) for {tgt}$ to {ip} ({rec(pk)}) and an "
           f"S4U ticket ({rec(s4u)}). The helpdesk's GenericWrite on workstations was used to forge a credential for an admin's laptop; WHfB provisioning only "
           "touches user objects via the MSOL account.")
    expect = {"verdict": "true_positive", "severity": "high",
              "entities": [ukey("t2_sburke"), hkey(tgt), hkey(host), ukey("sburke"), hkey(dc)],
              "source": [hkey(host), ukey("t2_sburke")], "attack_path": [hkey(host), ukey("t2_sburke"), hkey(tgt)],
              "impacted_assets": [hkey(tgt)], "techniques": ["T1556"] ,
              "must_not_cite": [ukey("MSOL_5f3a9c2e81d4"), hkey("BOS-LT-1013"), hkey("PVD-DT-2003")], "why": why}
    return sid, "Key credential forged on an admin's laptop object by a helpdesk account", ev, alert, expect, "tsv"


@scenario
def key_credential_link_whfb_sync():
    sid = "key-credential-link-whfb-sync"
    ev = Events(sid, "2025-03-13 13:00:00", "2025-03-13 15:30:00")
    ev.background(["AZE-AADC-01"], dcs=["AZE-ADDS-03", "BOS-ADDS-01"], density=0.5)
    dc, aadc = "AZE-ADDS-03", "AZE-AADC-01"
    writes = []
    for k, (t, u) in enumerate([("2025-03-13 13:05:10", "hpark"), ("2025-03-13 13:35:08", "vortiz"), ("2025-03-13 14:05:12", "tkim"),
                                ("2025-03-13 14:35:09", "mnovak")]):
        li = net_logon(ev, dc, "MSOL_5f3a9c2e81d4", aadc, at(t), zeek_port=389, service="ldap", zeek_bytes=(8000, 30000), logoff_after=9)
        writes.append(ev.ds_change(dc, at(t, seconds=2), "MSOL_5f3a9c2e81d4", li["logon_id"], U(u).dn, stable_uuid("user", u), "user",
                                   "msDS-KeyCredentialLink", kcl_value(sid + u, U(u).dn), syntax="2.5.5.7"))
    ev.finalize()
    alert = ds_alert(sid, writes[2], "Shadow Credentials: msDS-KeyCredentialLink modified", "A key credential was added to an account's msDS-KeyCredentialLink, allowing "
                     "PKINIT authentication as that account (Whisker / pyWhisker).", "high", ["T1556"], "msDS-KeyCredentialLink of tkim modified by MSOL_5f3a9c2e81d4.",
                     'event.code:"5136" and winlog.event_data.AttributeLDAPDisplayName:"msDS-KeyCredentialLink"',
                     fps=["Windows Hello for Business key provisioning by Entra Connect (MSOL_ accounts) on user objects"])
    why = (f"The key-credential writes ({rec(writes[0])} ... {rec(writes[3])}) are made by MSOL_5f3a9c2e81d4 from {C(aadc).ip} = AZE-AADC-01, each in a half-hourly "
           "sync cycle, on ordinary staff user objects - Windows Hello for Business key trust write-back by Entra Connect, which the account's description "
           "(write permission on certain attributes for hybrid deployment), AZE-AADC-01's tags and the AddKeyCredentialLink ACE on staff users document.")
    expect = {"verdict": "benign_positive", "severity": "informational",
              "entities": [ukey("MSOL_5f3a9c2e81d4"), ukey("tkim"), hkey(aadc), hkey(dc)], "source": [hkey(aadc), ukey("MSOL_5f3a9c2e81d4")],
              "impacted_assets": [], "techniques": ["T1556"], "must_not_cite": [ukey("MSOL_3b81e07d6a25"), hkey("BOS-AADC-OLD")], "why": why}
    return sid, "Entra Connect writes Windows Hello keys", ev, alert, expect, "json"


@scenario
def key_credential_misfire_spn_added():
    sid = "key-credential-misfire-spn-added"
    ev = Events(sid, "2025-03-12 15:00:00", "2025-03-12 16:30:00")
    ev.background(["BOS-JMP-01", "BOS-APP-07"], dcs=["BOS-ADDS-01", "BOS-ADDS-02"], skip_users=("lbrandt",))
    jmp, dc = "BOS-JMP-01", "BOS-ADDS-01"
    lij, exj = jump_in(ev, jmp, "t1_lbrandt", "BOS-LT-1021", at("2025-03-12 15:20:00"))
    sp = ev.proc(jmp, at("2025-03-12 15:41:00"), "C:\\Windows\\System32\\setspn.exe", "setspn.exe -S HTTP/reports-new.lmi.intra LMI\\svc-reporting",
                 exj, user="t1_lbrandt", logon_id=lij["logon_id"], session="2")
    li = net_logon(ev, dc, "t1_lbrandt", jmp, at("2025-03-12 15:41:01"), zeek_port=389, service="ldap", logoff_after=3)
    a = ev.ds_change(dc, at("2025-03-12 15:41:02"), "t1_lbrandt", li["logon_id"], U("svc-reporting").dn, stable_uuid("user", "svc-reporting"), "user",
                     "servicePrincipalName", "HTTP/reports-new.lmi.intra", syntax="2.5.5.12")
    ev.finalize()
    alert = ocsf_finding("tz-kcl-0312-1541", "2025-03-12 15:41:20", "Shadow Credentials: msDS-KeyCredentialLink modified on service account",
                         "msDS-KeyCredentialLink of svc-reporting was written by t1_lbrandt.", "high", TENZIR,
                         ("sigma-lmi-0630", "KeyCredentialLink write", "Credential Access"), ["T1556"],
                         evidences=[{"actor": {"user": ocsf_user("t1_lbrandt")}, "user": ocsf_user("svc-reporting"),
                                     "device": {"hostname": f"{dc}.lmi.intra", "ip": C(dc).ip}}],
                         device=ocsf_device(f"{dc}.lmi.intra", C(dc).ip, os_name=DC_OS), related=[related_event(a)],
                         unmapped={"AttributeLDAPDisplayName": "msDS-KeyCredentialLink"})
    why = (f"The 5136 the alert references ({rec(a)}) writes servicePrincipalName = HTTP/reports-new.lmi.intra on svc-reporting, not msDS-KeyCredentialLink; it "
           f"follows setspn -S on the jump host BOS-JMP-01 in t1_lbrandt's session ({rec(sp)}), a server admin registering the new SSRS URL. No key credential "
           "was written.")
    expect = {"verdict": "false_positive", "severity": "informational",
              "entities": [ukey("t1_lbrandt"), ukey("svc-reporting"), hkey(dc), hkey(jmp)], "source": [hkey(jmp), ukey("t1_lbrandt")], "impacted_assets": [],
              "techniques": [], "must_not_cite": [ukey("svc-sharepoint"), hkey("BOS-JMP-02")], "why": why}
    return sid, "SPN registration reported as a shadow-credential write", ev, alert, expect, "tsv"
