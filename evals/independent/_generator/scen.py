"""Scenario registry, shared patterns and the writer."""
from __future__ import annotations

import json
import os
from datetime import timedelta

import yaml

from common import DOMAIN, NETBIOS, ts
from enterprise import C, U, IP_OF, hkey, ukey, gkey
from winevt import Events, Proc

REGISTRY: list = []
BASE_REL = "../_base/lmi"

TENZIR = ("Tenzir Sigma Pipeline", "Tenzir", "4.22.1")
CORELIGHT = ("Corelight Investigator", "Corelight", "28.4.2")
MDI = ("Microsoft Defender for Identity", "Microsoft", "2.239.18146.4")


def scenario(fn):
    REGISTRY.append(fn)
    return fn


def at(t, **kw):
    return ts(t) + timedelta(**kw)


def fmt(t) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def key(ev: Events, d: dict) -> str:
    return ev.key(d)


def rec(d: dict) -> str:
    if "ev" in d and "Channel" not in d:
        d = d["ev"]
    return f"{d['Channel'].split('/')[0].replace('Microsoft-Windows-', '')} {d['EventID']} #{d['RecordNumber']}"


# ---------------------------------------------------------------- common patterns
def machine_online(ev: Events, host: str, t, ip: str | None = None, dc: str | None = None, zeek: bool = True):
    """The computer account's TGT from its address: ties the IP to the host at that time."""
    ip = ip or C(host).ip
    dc = dc or ev.dc_for(ip)
    e = ev.tgt(dc, t, host + "$", ip)
    if zeek:
        ev.conn(t, ip, C(dc).ip, 88, service="krb_tcp", ob=1620, rb=1710)
    return e


def desktop_session(ev: Events, host: str, user: str, t, ltype: int = 2, ip: str | None = None):
    """User signs in at the console of their workstation: TGT on the DC, 4624 on the host, explorer.exe."""
    ip = ip or C(host).ip
    dc = ev.dc_for(ip)
    ev.tgt(dc, t - timedelta(seconds=2), user, ip)
    li = ev.logon(host, t, user, ltype, elevated=False)
    ev.sessions[f"{host}|{user}"] = {"logon_id": li["logon_id"]}
    ui = ev.sysproc(host, "C:\\Windows\\System32\\userinit.exe", 7000 + (sum(map(ord, host)) % 200) * 4, user=user)
    ui["logon_id"] = li["logon_id"]
    ex = ev.proc(host, t + timedelta(seconds=3), "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", ui, user=user,
                 logon_id=li["logon_id"], integrity="Medium", session="1")
    ev._procs[(host, "c:\\windows\\explorer.exe")] = ex
    return li["logon_id"], ex


def net_logon(ev: Events, target: str, user: str, src_host: str | None, t, src_ip: str | None = None, auth: str = "Kerberos",
              ltype: int = 3, zeek_port: int | None = 445, zeek_bytes=(4000, 9000), service="smb,gssapi", logoff_after: int | None = None):
    ip = src_ip or C(src_host).ip
    name = src_host or "-"
    li = ev.logon(target, t, user, ltype, src_ip=ip, src_name=name if auth == "NTLM" or ltype == 10 else "-", auth=auth)
    if zeek_port:
        ev.conn(t - timedelta(milliseconds=200), ip, IP_OF.get(target, target), zeek_port, service=service,
                ob=zeek_bytes[0], rb=zeek_bytes[1], duration=round(ev.rng.uniform(0.5, 40), 3))
    if logoff_after:
        ev.logoff(target, t + timedelta(seconds=logoff_after), user, li["logon_id"], ltype)
    return li


def write_scenario(root: str, sid: str, title: str, ev: Events, alert: dict, expect: dict, zeek_format: str = "tsv",
                   extra_files: dict | None = None):
    folder = os.path.join(root, sid)
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    files = ev.write(folder, zeek_format)
    for name, content in (extra_files or {}).items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(content)
        files.append(name)
    with open(os.path.join(folder, "alert.json"), "w") as f:
        json.dump(alert, f, indent=2)
    order = ["verdict", "severity", "entities", "source", "attack_path", "impacted_assets", "techniques", "must_not_cite", "why"]
    exp = {k: expect[k] for k in order if k in expect}
    doc = {"id": sid, "title": title, "twin": [BASE_REL], "events": files, "alert": "alert.json", "expect": exp}
    with open(os.path.join(folder, "scenario.yaml"), "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False, width=120, allow_unicode=True)
    return folder


def rdp_session(ev: Events, target: str, user: str, src_host: str | None, t, src_ip: str | None = None, src_name: str | None = None,
                duration: int = 1800, zeek: bool = True):
    """RDP: NLA network logon, then LogonType 10 with an elevated and a filtered token, rdpclip and explorer in the session."""
    t = ev._t(t)
    ip = src_ip or C(src_host).ip
    name = src_name or (src_host or "-")
    if zeek:
        ev.conn(t - timedelta(seconds=2), ip, IP_OF[target], 3389, service="ssl", ob=ev.rng.randint(400_000, 2_000_000),
                rb=ev.rng.randint(2_000_000, 30_000_000), duration=float(duration))
    nla = ev.logon(target, t - timedelta(seconds=1), user, 3, src_ip=ip, special=False)
    ev.logoff(target, t, user, nla["logon_id"])
    lid = ev.new_logon_id()
    lid2 = hex(int(lid, 16) + 0x1a)
    li = ev.logon(target, t, user, 10, src_ip=ip, src_name=name, logon_id=lid, linked=lid2, tgs=False)
    ev.logon(target, t, user, 10, src_ip=ip, src_name=name, logon_id=lid2, linked=lid, elevated=False, special=False, tgs=False)
    wl = ev.sysproc(target, "C:\\Windows\\System32\\winlogon.exe", 600 + (sum(map(ord, target)) % 50) * 4)
    ui = ev.proc(target, t + timedelta(seconds=2), "C:\\Windows\\System32\\userinit.exe", "C:\\Windows\\system32\\userinit.exe", wl,
                 user=user, logon_id=lid, integrity="High", session="2")
    ex = ev.proc(target, t + timedelta(seconds=3), "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", ui, user=user,
                 logon_id=lid, integrity="High", session="2")
    svc = ev.svchost(target, "netsvcs -p -s TermService")
    ev.proc(target, t + timedelta(seconds=4), "C:\\Windows\\System32\\rdpclip.exe", "rdpclip", svc, user=user, logon_id=lid,
            integrity="High", session="2")
    ev.sessions[f"{target}|{user}"] = {"logon_id": lid}
    return li, ex


def psexec(ev: Events, target: str, user: str, src_host: str | None, t, cmds: list, src_ip: str | None = None,
           auth: str = "NTLM", svc_name: str = "PSEXESVC", svc_image: str = "%SystemRoot%\\PSEXESVC.exe", src_name: str | None = None,
           gap: int = 20):
    """SMB admin-share service execution: logon, ADMIN$ write, svcctl over IPC$, service install, then cmds[0] (the remote shell)
    started by the service in the caller's logon session and cmds[1:] as that shell's children."""
    t = ev._t(t)
    ip = src_ip or C(src_host).ip
    li = ev.logon(target, t, user, 3, src_ip=ip, src_name=src_name or src_host or "-", auth=auth)
    lid = li["logon_id"]
    ev.conn(t - timedelta(milliseconds=300), ip, IP_OF[target], 445, service="smb,ntlmssp" if auth == "NTLM" else "smb,gssapi",
            ob=ev.rng.randint(400_000, 700_000), rb=ev.rng.randint(20_000, 90_000), duration=round(float(gap * len(cmds) + 30), 3))
    ev.share(target, t + timedelta(milliseconds=50), user, lid, ip, "ADMIN$", "\\??\\C:\\Windows")
    exe = svc_image.split("\\")[-1]
    wr = ev.share_file(target, t + timedelta(milliseconds=80), user, lid, ip, "ADMIN$", "\\??\\C:\\Windows", exe,
                       access="0x100180", access_list="%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t")
    ev.share(target, t + timedelta(milliseconds=400), user, lid, ip, "IPC$", "")
    ev.share_file(target, t + timedelta(milliseconds=420), user, lid, ip, "IPC$", "", "svcctl", access="0x12019f",
                  access_list="%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t%%4419\r\n\t\t\t\t%%4420\r\n\t\t\t\t%%4423\r\n\t\t\t\t%%4424\r\n\t\t\t\t")
    inst = ev.service_install(target, t + timedelta(seconds=1), svc_name, svc_image, subject=user, logon_id=lid)
    svc = ev.proc(target, t + timedelta(seconds=2), svc_image.replace("%SystemRoot%", "C:\\Windows"), svc_image.replace("%SystemRoot%", "C:\\Windows"),
                  ev.services(target), user="SYSTEM", integrity="System")
    procs = []
    tt = t + timedelta(seconds=4)
    parent = svc
    for k, c in enumerate(cmds):
        img = c[0]
        p = ev.proc(target, tt, img, c[1], svc if k == 0 else procs[0], user=user, logon_id=lid, integrity="High",
                    subject=("SYSTEM", "NT AUTHORITY", "S-1-5-18", "0x3e7") if k == 0 else None)
        procs.append(p)
        tt += timedelta(seconds=gap)
    ev.logoff(target, tt + timedelta(seconds=20), user, lid)
    return {"logon": li, "write": wr, "install": inst, "service_proc": svc, "procs": procs}


def wmiexec(ev: Events, target: str, user: str, src_host: str | None, t, cmds: list, src_ip: str | None = None, auth: str = "Kerberos",
            gap: int = 25, output_to_admin: bool = True):
    t = ev._t(t)
    ip = src_ip or C(src_host).ip
    ev.conn(t - timedelta(milliseconds=500), ip, IP_OF[target], 135, service="dce_rpc", ob=ev.rng.randint(1500, 3000), rb=ev.rng.randint(900, 2000))
    li = ev.logon(target, t, user, 3, src_ip=ip, src_name=src_host or "-", auth=auth)
    lid = li["logon_id"]
    ev.conn(t + timedelta(milliseconds=200), ip, IP_OF[target], 49712, service="dce_rpc", ob=ev.rng.randint(9000, 30000),
            rb=ev.rng.randint(9000, 40000), duration=float(gap * len(cmds) + 10))
    wp = ev.wmiprvse(target)
    procs = []
    tt = t + timedelta(seconds=2)
    name, dom, usid = ev.acct(user)
    for k, c in enumerate(cmds):
        cmd = c
        if output_to_admin:
            cmd = f"cmd.exe /Q /c {c} 1> \\\\127.0.0.1\\ADMIN$\\__{int(t.timestamp())}.{k + 41} 2>&1"
        p = ev.proc(target, tt, "C:\\Windows\\System32\\cmd.exe", cmd, wp, user=user, logon_id=lid, integrity="High",
                    subject=(name, dom, usid, lid))
        procs.append(p)
        if output_to_admin:
            ev.share(target, tt + timedelta(seconds=1), user, lid, ip, "ADMIN$", "\\??\\C:\\Windows")
        tt += timedelta(seconds=gap)
    ev.logoff(target, tt + timedelta(seconds=10), user, lid)
    return {"logon": li, "procs": procs, "wmiprvse": wp}


def winrm(ev: Events, target: str, user: str, src_host: str | None, t, cmds: list, src_ip: str | None = None, gap: int = 30,
          rb: int = 60_000):
    t = ev._t(t)
    ip = src_ip or C(src_host).ip
    li = ev.logon(target, t, user, 3, src_ip=ip)
    lid = li["logon_id"]
    ev.conn(t - timedelta(milliseconds=300), ip, IP_OF[target], 5985, service="http", ob=ev.rng.randint(40_000, 90_000), rb=rb,
            duration=float(gap * len(cmds) + 40))
    dl = ev.svchost(target, "DcomLaunch -p")
    host = ev.proc(target, t + timedelta(seconds=1), "C:\\Windows\\System32\\wsmprovhost.exe", "C:\\Windows\\system32\\wsmprovhost.exe -Embedding",
                   dl, user=user, logon_id=lid, integrity="High")
    procs = []
    tt = t + timedelta(seconds=6)
    for c in cmds:
        p = ev.proc(target, tt, c[0], c[1], host, user=user, logon_id=lid, integrity="High")
        procs.append(p)
        tt += timedelta(seconds=gap)
    ev.logoff(target, tt + timedelta(seconds=15), user, lid)
    return {"logon": li, "wsmprovhost": host, "procs": procs}


def jump_in(ev: Events, jump: str, user: str, laptop: str, t):
    """An admin RDPs from their laptop to the jump host (the documented start of tier-1 work)."""
    machine_online(ev, laptop, ev._t(t) - timedelta(minutes=40))
    return rdp_session(ev, jump, user, laptop, t, duration=5400)
