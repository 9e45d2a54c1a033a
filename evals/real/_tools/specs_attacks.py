"""The true-positive real-telemetry scenarios: the attacks the OTRF captures hold, one dict each
(the dict's shape is described in specs.py)."""

from specs_common import (
    DC,
    DC01,
    LAB_W5,
    LAB_WD,
    PADMIN,
    PANDALAB_LAB,
    PG,
    PG_SID_2008,
    PG_SID_2009,
    PS,
    SB,
    SYSMON,
    THESHIRE_LAB,
    W5,
    W6,
    WD,
    security,
    sysmon,
)

TRUE_POSITIVES = [
    # ================================================================ true positives
    {
        "id": "otrf-dcom-excel-xll",
        "title": "Remote DCOM activation of Excel on WORKSTATION6 (covenant_dcom_registerxll)",
        "capture": "covenant_dcom_registerxll", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-18T19:00:21.341Z", "severity": "high",
            "rule": "Office application started by DcomLaunch for a network logon",
            "title": "Remote DCOM activation of EXCEL.EXE on WORKSTATION6 followed by an unsigned XLL load",
            "description": "EXCEL.EXE /automation -Embedding was started by svchost -k DcomLaunch inside a network "
                           "logon session (NTLM, source 172.18.39.5) and loaded an unsigned add-in from "
                           "C:\\ProgramData. Excel.Application RegisterXLL over DCOM is a known lateral-movement "
                           "technique.",
            "attack": [("T1021.003", "Distributed Component Object Model", "TA0008")],
            "host": {"name": "WORKSTATION6.theshire.local", "ip": ["172.18.39.6"]},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009, "logon_id": "0xceec42"},
            "process": {"executable": r"C:\Program Files (x86)\Microsoft Office\root\Office16\EXCEL.EXE",
                        "command_line": r'"C:\Program Files (x86)\Microsoft Office\Root\Office16\EXCEL.EXE" /automation -Embedding',
                        "entity_id": "{d273d0f0-03c5-5f65-b902-000000000800}", "integrity": "High",
                        "user": {"name": "pgustavo", "domain": "THESHIRE"},
                        "parent": {"executable": r"C:\Windows\System32\svchost.exe",
                                   "command_line": r"C:\windows\system32\svchost.exe -k DcomLaunch -p",
                                   "pid": 960, "entity_id": "{d273d0f0-e866-5f64-1100-000000000800}"}},
            "source": {"ip": "172.18.39.5"},
            "file": r"C:\ProgramData\calc.xll",
            "source_event": sysmon(1, 2078066),
            "data_sources": [SYSMON, "Security"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 1247560, 1, {"Image": r"C:\Users\pgustavo\Desktop\MoveExcelXLL.exe", "User": "THESHIRE\\pgustavo"}),
            ("WORKSTATION5", SYSMON, 1247783, 3, {"DestinationIp": "172.18.39.6", "Image": r"C:\Users\pgustavo\Desktop\MoveExcelXLL.exe"}),
            ("WORKSTATION6", "security", 475550, 4624, {"IpAddress": "172.18.39.5", "WorkstationName": "WORKSTATION5", "TargetLogonId": "0xceec42", "AuthenticationPackageName": "NTLM"}),
            ("WORKSTATION6", SYSMON, 2078066, 1, {"LogonId": "0xceec42", "User": "THESHIRE\\pgustavo"}),
            ("WORKSTATION6", SYSMON, 2078571, 7, {"ImageLoaded": r"C:\ProgramData\calc.xll"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1021.003"],
        },
        "why": "WORKSTATION5 ran MoveExcelXLL.exe 172.18.39.6 C:\\programdata\\calc.xll as pgustavo from the "
               "GruntHTTP.exe implant (Sysmon 1 rec 1247560, LogonId 0x2b78cd) and connected to 172.18.39.6 "
               "(Sysmon 3 rec 1247783). WORKSTATION6 logged pgustavo on by NTLM from 172.18.39.5, WorkstationName "
               "WORKSTATION5 (4624 rec 475550, LogonId 0xceec42); in that logon DcomLaunch started EXCEL.EXE "
               "/automation -Embedding (Sysmon 1 rec 2078066, 4688 rec 475552), which loaded the unsigned "
               "C:\\ProgramData\\calc.xll (Sysmon 7 rec 2078571): remote DCOM execution, W5 -> pgustavo -> W6.",
    },
    {
        "id": "otrf-wmic-remote-net-user",
        "title": "net user /add started by WmiPrvSE on WORKSTATION6 (empire_wmic_add_user_backdoor)",
        "capture": "empire_wmic_add_user_backdoor", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-09-14T12:06:02.316Z", "severity": "high", "rule_type": "eql",
            "rule": "WMI Incoming Lateral Movement",
            "description": "Identifies processes executed via Windows Management Instrumentation (WmiPrvSE) on "
                           "the target host in a network logon from a remote host. Adversaries can use WMI to "
                           "execute commands remotely.",
            "reason": "process event with process net.exe, parent process WmiPrvSE.exe, source 172.18.39.5, "
                      "by pgustavo on WORKSTATION6.theshire.local created high alert WMI Incoming Lateral Movement.",
            "attack": [("T1047", "Windows Management Instrumentation", "TA0002"),
                       ("T1136.001", "Local Account", "TA0003")],
            "parent_names": {"T1136": "Create Account"},
            "host": {"name": "WORKSTATION6.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE"},
            "process": {"executable": r"C:\Windows\System32\net.exe",
                        "command_line": "net user /add backdoor paw0rd1", "pid": 7768,
                        "entity_id": "{83d0c8c3-5caa-5f5f-f102-000000000400}",
                        "parent": {"executable": r"C:\Windows\System32\wbem\WmiPrvSE.exe",
                                   "command_line": r"C:\windows\system32\wbem\wmiprvse.exe -secured -Embedding",
                                   "pid": 3952, "entity_id": "{83d0c8c3-5caa-5f5f-f002-000000000400}"}},
            "source": {"ip": "172.18.39.5"},
            "source_event": sysmon(1, 183112, event_data={"LogonId": "0x551686", "IntegrityLevel": "High"}),
            "index": "winlogbeat-7.9.0-2020.09.14",
        },
        "records": [
            ("WORKSTATION5", SYSMON, 423322, 1, {"Image": r"C:\Windows\System32\wbem\WMIC.exe", "User": "THESHIRE\\pgustavo"}),
            ("WORKSTATION5", SYSMON, 423427, 3, {"DestinationIp": "172.18.39.6", "SourcePort": "60065"}),
            ("WORKSTATION6", "Security", 56034, 4624, {"IpAddress": "172.18.39.5", "TargetLogonId": "0x551686", "TargetUserName": "pgustavo"}),
            ("WORKSTATION6", SYSMON, 183112, 1, {"ParentImage": r"C:\Windows\System32\wbem\WmiPrvSE.exe", "LogonId": "0x551686"}),
            ("WORKSTATION6", "Security", 56079, 4720, {"TargetUserName": "backdoor", "SubjectLogonId": "0x551686"}),
            ("WORKSTATION6", "Security", 56082, 4726, {"TargetUserName": "backdoor", "SubjectLogonId": "0x551686"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1047", "T1136.001"],
            "must_not_cite": [WD],
        },
        "why": "On WORKSTATION5 the Empire agent's powershell (pgustavo, LogonId 0x2cc013) ran WMIC /node:WORKSTATION6 "
               "process call create \"net user /add backdoor ...\" (Sysmon 1 rec 423322) and WMIC connected to "
               "172.18.39.6 from port 60065 (Sysmon 3 rec 423427); WORKSTATION6 logged pgustavo on from 172.18.39.5 "
               "port 60065 (4624 rec 56034, LogonId 0x551686) and WmiPrvSE started net.exe in that logon (Sysmon 1 "
               "rec 183112), which created the local account backdoor (4720 rec 56079) -- removed again at once "
               "(4726 rec 56082, the password failed policy). wardog's session on WORKSTATION5 (LogonId "
               "0x7ed5aa, background task hosts only) is unrelated.",
    },
    {
        "id": "otrf-sharpsc-remote-service",
        "title": "Service Cyb3rWard0g installed from the network on WORKSTATION6 (covenant_sharpsc_create_dcerpc_smb_svcctl)",
        "capture": "covenant_sharpsc_create_dcerpc_smb_svcctl", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-08-06T06:27:32.796Z", "severity": "high",
            "rule": "Remote service installation over the svcctl named pipe",
            "title": "Service Cyb3rWard0g installed on WORKSTATION6 by a network logon from 172.18.39.5",
            "description": "A service was installed (4697) by an account whose logon session came from the network "
                           "and opened \\\\*\\IPC$\\svcctl; the service binary is C:\\Windows\\System32\\GruntHTTP2.exe, "
                           "set to auto start as LocalSystem.",
            "attack": [("T1021.002", "SMB/Windows Admin Shares", "TA0008"),
                       ("T1543.003", "Windows Service", "TA0003"),
                       ("T1569.002", "Service Execution", "TA0002")],
            "host": {"name": "WORKSTATION6.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2008, "logon_id": "0xba93e3"},
            "source": {"ip": "172.18.39.5", "port": 54736},
            "resources": [{"type": "Windows Service", "name": "Cyb3rWard0g", "uid": "Cyb3rWard0g",
                           "data": {"display_name": "OTR", "image_path": r"C:\Windows\System32\GruntHTTP2.exe",
                                    "start_type": "auto start", "account": "LocalSystem"}}],
            "source_event": security(4697, 91138, action="A service was installed in the system",
                                     category=["configuration"], type_=["creation"], type_uid=201901,
                                     type_name="Windows Service Activity: Create",
                                     event_data={"ServiceName": "Cyb3rWard0g",
                                                 "ServiceFileName": r"C:\Windows\System32\GruntHTTP2.exe",
                                                 "SubjectLogonId": "0xba93e3"}),
            "data_sources": ["Security", "System"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 299245, 3, {"Image": r"C:\Users\pgustavo\Desktop\GruntHTTP.exe", "DestinationIp": "172.18.39.6", "DestinationPort": "135"}),
            ("WORKSTATION6", "Security", 91131, 4624, {"IpAddress": "172.18.39.5", "TargetLogonId": "0xba93e3", "TargetUserName": "pgustavo"}),
            ("WORKSTATION6", "Security", 91134, 5145, {"RelativeTargetName": "svcctl", "SubjectLogonId": "0xba93e3"}),
            ("WORKSTATION6", "Security", 91138, 4697, {"ServiceName": "Cyb3rWard0g", "SubjectLogonId": "0xba93e3"}),
            ("WORKSTATION6", "System", 521, 7045, {"ServiceName": "OTR", "ImagePath": r"C:\Windows\System32\GruntHTTP2.exe"}),
            ("WORKSTATION5", SYSMON, 299509, 3, {"SourcePort": "54736", "DestinationIp": "172.18.39.6"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1021.002", "T1543.003", "T1569.002"],
            "must_not_cite": [SB],
        },
        "why": "GruntHTTP.exe running as pgustavo on WORKSTATION5 opened RPC to 172.18.39.6:135 (Sysmon 3 rec 299245); "
               "WORKSTATION6 logged pgustavo on from 172.18.39.5 port 54736 (4624 rec 91131, LogonId 0xba93e3, the "
               "same source port WORKSTATION5's SMB connection used, Sysmon 3 rec 299509), the session opened "
               "IPC$\\svcctl (5145 rec 91134) and installed service Cyb3rWard0g / OTR with binary "
               "C:\\Windows\\System32\\GruntHTTP2.exe (4697 rec 91138, 7045 System rec 521). sbeavers' desktop "
               "session on WORKSTATION6 plays no part.",
    },
    {
        "id": "otrf-smb-copy-exe",
        "title": "Executable written over C$ on WORKSTATION6 (covenant_copy_smb_CreateRequest)",
        "capture": "covenant_copy_smb_CreateRequest", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-09-22T18:53:32.342Z", "severity": "medium", "rule_type": "eql",
            "rule": "Potential Lateral Tool Transfer via SMB Share",
            "description": "Identifies the creation or change of a Windows executable file over an administrative "
                           "SMB share (C$/ADMIN$) by a remote network logon. Adversaries may transfer tools or "
                           "other files between systems in a compromised environment.",
            "reason": "file event with path ProgramData\\GruntHTTP.exe on share \\\\*\\C$, source 172.18.39.5, by "
                      "pgustavo on WORKSTATION6.theshire.local created medium alert Potential Lateral Tool "
                      "Transfer via SMB Share.",
            "attack": [("T1570", "Lateral Tool Transfer", "TA0008"),
                       ("T1021.002", "SMB/Windows Admin Shares", "TA0008")],
            "parent_names": {"T1021": "Remote Services"},
            "host": {"name": "WORKSTATION6.theshire.local", "ip": ["172.18.39.6"]},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009},
            "source": {"ip": "172.18.39.5", "port": 62782},
            "file": r"C:\ProgramData\GruntHTTP.exe",
            "source_event": security(5145, 933026, channel="security",
                                     action="Detailed File Share", category=["network", "file"],
                                     type_=["access"],
                                     event_data={"ShareName": "\\\\*\\C$",
                                                 "RelativeTargetName": "ProgramData\\GruntHTTP.exe",
                                                 "AccessMask": "0x17019f", "SubjectLogonId": "0x4e13b2e"}),
            "index": "winlogbeat-7.9.1-2020.09.22",
        },
        "records": [
            ("WORKSTATION6", "security", 933021, 4624, {"IpAddress": "172.18.39.5", "IpPort": "62782", "TargetLogonId": "0x4e13b2e"}),
            ("WORKSTATION6", "security", 933024, 5140, {"ShareName": "\\\\*\\C$", "SubjectLogonId": "0x4e13b2e"}),
            ("WORKSTATION6", "security", 933026, 5145, {"RelativeTargetName": "ProgramData\\GruntHTTP.exe", "SubjectLogonId": "0x4e13b2e"}),
            ("WORKSTATION6", SYSMON, 3956859, 11, {"TargetFilename": r"C:\ProgramData\GruntHTTP.exe", "Image": "System"}),
            ("WORKSTATION5", SYSMON, 3518604, 3, {"SourcePort": "62782", "DestinationIp": "172.18.39.6", "DestinationPort": "445"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "medium",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1570", "T1021.002"],
        },
        "why": "WORKSTATION6 logged pgustavo on from 172.18.39.5 port 62782 (4624 rec 933021, LogonId 0x4e13b2e); "
               "WORKSTATION5's own Sysmon shows that SMB connection leaving 172.18.39.5:62782 for 172.18.39.6:445 "
               "(Sysmon 3 rec 3518604). The session mapped C$ (5140 rec 933024) and wrote "
               "ProgramData\\GruntHTTP.exe (5145 rec 933026, WriteData/AppendData), which the SMB server (System) "
               "created as C:\\ProgramData\\GruntHTTP.exe (Sysmon 11 rec 3956859): a C2 implant pushed W5 -> W6.",
    },
    {
        "id": "otrf-empire-psremoting",
        "title": "Encoded PowerShell started by wsmprovhost on WORKSTATION6 (empire_psremoting_stager)",
        "capture": "empire_psremoting_stager", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-20T21:09:11.252Z", "severity": "high",
            "rule": "Encoded PowerShell spawned by WinRM plugin host (wsmprovhost.exe)",
            "title": "wsmprovhost.exe started powershell -noP -sta -w 1 -enc on WORKSTATION6",
            "description": "A hidden, encoded PowerShell command line (-noP -sta -w 1 -enc) was started by the WinRM "
                           "remote shell host wsmprovhost.exe, i.e. by a PowerShell Remoting session opened from "
                           "another host. The command-line pattern matches the Empire launcher.",
            "attack": [("T1021.006", "Windows Remote Management", "TA0008"),
                       ("T1059.001", "PowerShell", "TA0002")],
            "host": {"name": "WORKSTATION6.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009, "logon_id": "0x2da8840"},
            "process": {"executable": r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
                        "command_line": r'"C:\windows\System32\WindowsPowerShell\v1.0\powershell.exe" -noP -sta -w 1 -enc SQBmACgAJABQAFMAVgBFAHIAUwBpAG8ATgBUAGEAQgBsAEUALgBQAFMAVgBFAFIAcwBJAG8AbgAuAE0AQQBKAG8AUgAgAC0AZwBlACAAMwApAHsA...',
                        "entity_id": "{d273d0f0-c4f7-5f67-a707-000000000800}", "integrity": "High",
                        "user": {"name": "pgustavo", "domain": "THESHIRE"},
                        "parent": {"executable": r"C:\Windows\System32\wsmprovhost.exe",
                                   "command_line": r"C:\windows\system32\wsmprovhost.exe -Embedding",
                                   "pid": 9036, "entity_id": "{d273d0f0-c4f4-5f67-a607-000000000800}"}},
            "source": {"ip": "172.18.39.5"},
            "destination": {"ip": "172.18.39.6", "port": 5985, "service": "WinRM"},
            "source_event": sysmon(1, 3092580),
            "data_sources": [SYSMON, "Security"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 2272124, 3, {"Image": PS, "User": "THESHIRE\\pgustavo", "DestinationIp": "172.18.39.6", "DestinationPort": "5985"}),
            ("MORDORDC", "Security", 1398047, 4769, {"ServiceName": "WORKSTATION6$", "IpAddress": "::ffff:172.18.39.5"}),
            ("WORKSTATION6", SYSMON, 3092506, 3, {"SourceIp": "172.18.39.5", "SourcePort": "59770", "DestinationPort": "5985"}),
            ("WORKSTATION6", "security", 738614, 4624, {"TargetLogonId": "0x2da8840", "TargetUserName": "pgustavo", "IpAddress": "-"}),
            ("WORKSTATION6", SYSMON, 3092453, 1, {"Image": r"C:\Windows\System32\wsmprovhost.exe", "LogonId": "0x2da8840"}),
            ("WORKSTATION6", SYSMON, 3092580, 1, {"ParentImage": r"C:\Windows\System32\wsmprovhost.exe", "LogonId": "0x2da8840"}),
            ("WORKSTATION6", SYSMON, 3093336, 1, {"Image": r"C:\Windows\System32\whoami.exe", "LogonId": "0x2da8840"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1021.006", "T1059.001"],
        },
        "why": "The Empire agent's powershell on WORKSTATION5 (pgustavo) opened WinRM 172.18.39.5 -> 172.18.39.6:5985 "
               "(Sysmon 3 rec 2272124) after a service ticket for WORKSTATION6$ was issued to pgustavo from "
               "172.18.39.5 (4769 rec 1398047 on MORDORDC). WORKSTATION6's 4624 (rec 738614, LogonId 0x2da8840) "
               "carries no IpAddress, so the source is proved by W5's connection and the DC ticket; in that logon "
               "wsmprovhost.exe (Sysmon 1 rec 3092453) started powershell -noP -sta -w 1 -enc (rec 3092580), the "
               "new agent, which ran whoami (rec 3093336).",
    },
    {
        "id": "otrf-covenant-psremoting",
        "title": "Incoming PowerShell Remoting session on WORKSTATION6 (covenant_psremoting_command)",
        "capture": "covenant_psremoting_command", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-08-06T15:56:22.486Z", "severity": "medium", "rule_type": "eql",
            "rule": "Incoming Execution via PowerShell Remoting",
            "description": "Identifies remote execution via Windows PowerShell remoting: the WinRM plugin host "
                           "wsmprovhost.exe started on the target in a network logon shortly after an inbound "
                           "connection to TCP 5985/5986.",
            "reason": "process event with process wsmprovhost.exe, parent process svchost.exe, by pgustavo on "
                      "WORKSTATION6.theshire.local created medium alert Incoming Execution via PowerShell Remoting.",
            "attack": [("T1021.006", "Windows Remote Management", "TA0008")],
            "parent_names": {"T1021": "Remote Services"},
            "host": {"name": "WORKSTATION6.theshire.local", "ip": ["172.18.39.6"]},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2008},
            "process": {"executable": r"C:\Windows\System32\wsmprovhost.exe",
                        "command_line": r"C:\windows\system32\wsmprovhost.exe -Embedding", "pid": 1280,
                        "entity_id": "{49a15388-2826-5f2c-4505-000000000400}",
                        "parent": {"executable": r"C:\Windows\System32\svchost.exe",
                                   "command_line": r"C:\windows\system32\svchost.exe -k DcomLaunch -p",
                                   "pid": 896, "entity_id": "{49a15388-5c39-5f2b-1000-000000000400}"}},
            "source": {"ip": "172.18.39.5"},
            "destination": {"ip": "172.18.39.6", "port": 5985},
            "source_event": sysmon(1, 478644, event_data={"LogonId": "0x1121f34", "IntegrityLevel": "High"}),
            "index": "winlogbeat-7.8.1-2020.08.06",
        },
        "records": [
            ("WORKSTATION5", "Security", 114402, 4648, {"ProcessName": r"C:\Users\pgustavo\Desktop\GruntHTTP.exe", "TargetServerName": "WORKSTATION6", "TargetUserName": "pgustavo"}),
            ("WORKSTATION5", SYSMON, 401139, 3, {"Image": r"C:\Users\pgustavo\Desktop\GruntHTTP.exe", "DestinationPort": "5985", "DestinationIp": "172.18.39.6"}),
            ("WORKSTATION6", SYSMON, 478694, 3, {"SourceIp": "172.18.39.5", "SourcePort": "57967", "DestinationPort": "5985"}),
            ("WORKSTATION6", "Security", 134879, 4624, {"TargetLogonId": "0x1121f34", "TargetUserName": "pgustavo"}),
            ("WORKSTATION6", SYSMON, 478644, 1, {"Image": r"C:\Windows\System32\wsmprovhost.exe", "LogonId": "0x1121f34"}),
            ("WORKSTATION6", SYSMON, 478491, 1, {"User": "THESHIRE\\sbeavers", "LogonId": "0x2b88b1"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "medium",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1021.006"],
            "must_not_cite": [SB],
        },
        "why": "On WORKSTATION5 GruntHTTP.exe (Covenant implant run by pgustavo) used explicit credentials for "
               "pgustavo against WORKSTATION6 (4648 rec 114402, TargetInfo HTTP/WORKSTATION6) and connected to "
               "172.18.39.6:5985 (Sysmon 3 rec 401139); WORKSTATION6 logged pgustavo on (4624 rec 134879, LogonId "
               "0x1121f34) and started wsmprovhost.exe -Embedding in that logon (Sysmon 1 rec 478644), which then "
               "read process handles (get-process). sbeavers, whose desktop session on WORKSTATION6 (LogonId "
               "0x2b88b1) only ran taskhostw/HxTsr/RuntimeBroker, is a bystander.",
    },
    {
        "id": "otrf-rubeus-asktgt",
        "title": "RC4 TGT request by Rubeus.exe on WORKSTATION6 (empire_shell_rubeus_asktgt_ptt)",
        "capture": "empire_shell_rubeus_asktgt_ptt", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-22T02:39:10.522Z", "severity": "high",
            "rule": "Kerberos ticket request from a non-LSASS process with an RC4 key",
            "title": "Rubeus.exe asktgt with an RC4 hash for another user on WORKSTATION6",
            "description": "A process other than lsass.exe opened TCP 88 to the domain controller and an RC4-HMAC "
                           "TGT (etype 0x17) was issued for a different account than the one running the process; "
                           "the command line matches Rubeus asktgt /rc4 ... /ptt (over-pass-the-hash).",
            "attack": [("T1550.002", "Pass the Hash", "TA0008"),
                       ("T1550.003", "Pass the Ticket", "TA0008")],
            "host": {"name": "WORKSTATION6.theshire.local", "ip": ["172.18.39.6"]},
            "user": {"name": "wardog", "domain": "THESHIRE", "logon_id": "0x41a6996"},
            "process": {"executable": r"C:\Users\sbeavers\Desktop\Rubeus.exe",
                        "command_line": r'"C:\users\sbeavers\Desktop\Rubeus.exe" asktgt /user:pgustavo /rc4:81d310fa34e6a56a31145445891bb7b8 /ptt',
                        "entity_id": "{d273d0f0-63ce-5f69-940c-000000000800}", "integrity": "High",
                        "user": {"name": "wardog", "domain": "THESHIRE"},
                        "parent": {"executable": PS, "pid": 5056,
                                   "entity_id": "{d273d0f0-5d74-5f69-5b0c-000000000800}"}},
            "destination": {"ip": "172.18.38.5", "port": 88, "service": "kerberos"},
            "evidence_data": {"requested_user": "pgustavo", "ticket_encryption_type": "0x17"},
            "source_event": sysmon(1, 3667856),
            "data_sources": [SYSMON, "Security"],
        },
        "records": [
            ("WORKSTATION6", SYSMON, 3667856, 1, {"User": "THESHIRE\\wardog", "LogonId": "0x41a6996"}),
            ("WORKSTATION6", SYSMON, 3668037, 3, {"Image": r"C:\Users\sbeavers\Desktop\Rubeus.exe", "DestinationIp": "172.18.38.5", "DestinationPort": "88", "SourcePort": "53409"}),
            ("MORDORDC", "Security", 1950060, 4768, {"TargetUserName": "pgustavo", "TicketEncryptionType": "0x17", "IpAddress": "::ffff:172.18.39.6", "IpPort": "53409"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, WD, PG, DC], "source": [W6, WD], "attack_path": [W6, WD, PG],
            "impacted_assets": [W6, DC], "techniques": ["T1550.002", "T1550.003"],
            "must_not_cite": [SB, W5],
        },
        "why": "wardog's Empire agent on WORKSTATION6 started \"C:\\users\\sbeavers\\Desktop\\Rubeus.exe\" asktgt "
               "/user:pgustavo /rc4:<hash> /ptt (Sysmon 1 rec 3667856, User THESHIRE\\wardog, LogonId 0x41a6996); "
               "Rubeus itself connected 172.18.39.6:53409 -> 172.18.38.5:88 (Sysmon 3 rec 3668037) and MORDORDC "
               "issued a TGT for pgustavo to ::ffff:172.18.39.6 port 53409 with RC4 (4768 rec 1950060, etype "
               "0x17): wardog obtained a domain credential for pgustavo. sbeavers only owns the folder the binary "
               "sits in; he ran nothing.",
    },
    {
        "id": "otrf-mimikatz-lsass",
        "title": "PowerShell opened LSASS with 0x1010 on WORKSTATION5 (empire_mimikatz_logonpasswords)",
        "capture": "empire_mimikatz_logonpasswords", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-08-07T14:32:56.540Z", "severity": "high", "rule_type": "eql",
            "rule": "LSASS Memory Access by PowerShell",
            "description": "Identifies a PowerShell process opening the Local Security Authority Subsystem Service "
                           "(lsass.exe) with PROCESS_VM_READ | PROCESS_QUERY_LIMITED_INFORMATION (0x1010), the "
                           "access Mimikatz sekurlsa::logonpasswords requests.",
            "reason": "process event with process powershell.exe, target process lsass.exe, granted access 0x1010, "
                      "on WORKSTATION5.theshire.local created high alert LSASS Memory Access by PowerShell.",
            "attack": [("T1003.001", "LSASS Memory", "TA0006")],
            "parent_names": {"T1003": "OS Credential Dumping"},
            "host": {"name": "WORKSTATION5.theshire.local", "ip": ["172.18.39.5"]},
            "user": {"name": "pgustavo", "domain": "THESHIRE"},
            "process": {"executable": r"C:\windows\System32\WindowsPowerShell\v1.0\powershell.exe", "pid": 1648,
                        "entity_id": "{297bc33e-65d0-5f2d-8207-000000000400}"},
            "target_process": {"executable": r"C:\windows\system32\lsass.exe", "pid": 768,
                               "entity_id": "{297bc33e-5c2e-5f2b-0c00-000000000400}"},
            "source_event": sysmon(10, 725757, event_data={"GrantedAccess": "0x1010",
                                                          "CallTrace": "C:\\windows\\SYSTEM32\\ntdll.dll+9c534|C:\\windows\\System32\\KERNELBASE.dll+2726e|UNKNOWN(000002EE319439BF)"}),
            "index": "winlogbeat-7.8.1-2020.08.07",
        },
        "records": [
            ("WORKSTATION5", SYSMON, 725757, 10, {"GrantedAccess": "0x1010", "SourceProcessGUID": "{297bc33e-65d0-5f2d-8207-000000000400}"}),
            ("WORKSTATION5", SYSMON, 725758, 3, {"ProcessGuid": "{297bc33e-65d0-5f2d-8207-000000000400}", "User": "THESHIRE\\pgustavo", "DestinationIp": "10.10.10.5"}),
            ("WORKSTATION5", "Security", 202265, 4673, {"SubjectUserName": "pgustavo", "SubjectLogonId": "0x2ba622"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W5, PG], "source": [W5, PG],
            "impacted_assets": [W5, DC], "techniques": ["T1003.001"],
            "must_not_cite": [W6],
        },
        "why": "powershell.exe PID 1648 (ProcessGuid {297bc33e-65d0-...-8207}, the Empire agent B7Y8G4XC, beaconing as "
               "THESHIRE\\pgustavo to 10.10.10.5:80 -- Sysmon 3 rec 725758) opened lsass.exe with GrantedAccess "
               "0x1010 from unbacked memory (Sysmon 10 rec 725757) and pgustavo's LogonId 0x2ba622 then tried "
               "SeTcbPrivilege (4673 rec 202265): Invoke-Mimikatz logonpasswords on WORKSTATION5, exposing the "
               "domain credentials cached there (hence MORDORDC at risk). WORKSTATION6 shows nothing related.",
    },
    {
        "id": "otrf-reg-save-sam",
        "title": "reg.exe save HKLM\\sam on WORKSTATION5 (empire_shell_reg_dump_sam)",
        "capture": "empire_shell_reg_dump_sam", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-22T08:28:40.319Z", "severity": "high",
            "rule": "Registry hive export of SAM/SECURITY/SYSTEM via reg.exe",
            "title": "SAM hive saved to disk with reg.exe save on WORKSTATION5",
            "description": "reg.exe save HKLM\\sam was run from an encoded PowerShell parent; the SAM hive holds the "
                           "local account password hashes.",
            "attack": [("T1003.002", "Security Account Manager", "TA0006")],
            "host": {"name": "WORKSTATION5.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009, "logon_id": "0x10a7df"},
            "process": {"executable": r"C:\Windows\System32\reg.exe",
                        "command_line": r'"C:\windows\system32\reg.exe" save HKLM\sam sam',
                        "entity_id": "{b34bc01c-b5b8-5f69-cc02-000000000900}", "integrity": "High",
                        "user": {"name": "pgustavo", "domain": "THESHIRE"},
                        "parent": {"executable": PS, "pid": 5972,
                                   "entity_id": "{b34bc01c-a92a-5f69-7e02-000000000900}"}},
            "file": r"C:\Windows\System32\sam",
            "source_event": sysmon(1, 3400681),
            "data_sources": [SYSMON, "Security"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 3400681, 1, {"User": "THESHIRE\\pgustavo", "LogonId": "0x10a7df"}),
            ("WORKSTATION5", "security", 820988, 4688, {"SubjectUserName": "pgustavo", "SubjectLogonId": "0x10a7df"}),
            ("WORKSTATION5", SYSMON, 3400696, 11, {"TargetFilename": r"C:\Windows\System32\sam"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W5, PG], "source": [W5, PG],
            "impacted_assets": [W5], "techniques": ["T1003.002"],
            "must_not_cite": [W6],
        },
        "why": "The Empire agent's encoded powershell (PID 5972, pgustavo, High integrity) ran \"reg.exe\" save "
               "HKLM\\sam sam (Sysmon 1 rec 3400681, 4688 rec 820988, LogonId 0x10a7df) and reg.exe wrote "
               "C:\\Windows\\System32\\sam (Sysmon 11 rec 3400696): the local SAM hive dumped on WORKSTATION5 -- "
               "local hashes, not domain ones.",
    },
    {
        "id": "otrf-schtask-registry-payload",
        "title": "Scheduled task running a registry-stored PowerShell payload on WORKSTATION5 (empire_schtasks_creation_standard_user)",
        "capture": "empire_schtasks_creation_standard_user", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-09-21T07:15:47.930Z", "severity": "medium", "rule_type": "eql",
            "rule": "Scheduled Task Created with a PowerShell Registry-Stored Payload",
            "description": "A scheduled task was registered (4698) whose action runs hidden PowerShell that decodes "
                           "and executes a Base64 blob read from the registry (IEX ... FromBase64String((gp "
                           "HKCU:...).debug)), a fileless persistence pattern.",
            "reason": "scheduled task \\MordorSchtask created by pgustavo on WORKSTATION5.theshire.local created "
                      "medium alert Scheduled Task Created with a PowerShell Registry-Stored Payload.",
            "attack": [("T1053.005", "Scheduled Task", "TA0003")],
            "parent_names": {"T1053": "Scheduled Task/Job"},
            "host": {"name": "WORKSTATION5.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009},
            "process": {"executable": r"C:\Windows\System32\schtasks.exe",
                        "command_line": r'"C:\windows\system32\schtasks.exe" /Create /F /SC DAILY /ST 09:00 /TN MordorSchtask /TR "C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe -NonI -W hidden -c \"IEX ([Text.Encoding]::UNICODE.GetString([Convert]::FromBase64String((gp HKCU:\Software\Microsoft\Windows\CurrentVersion debug).debug)))\""',
                        "entity_id": "{b34bc01c-5321-5f68-a514-000000000400}",
                        "parent": {"executable": PS, "pid": 7312,
                                   "entity_id": "{b34bc01c-5253-5f68-9a14-000000000400}"}},
            "registry": {"path": "HKU\\S-1-5-21-4228717743-1032521047-1810997296-1104\\Software\\Microsoft\\Windows\\CurrentVersion\\debug",
                         "hive": "HKU", "value": "debug"},
            "source_event": security(4698, 619625, action="scheduled-task-created",
                                     category=["iam", "configuration"], type_=["creation"],
                                     event_data={"TaskName": "\\MordorSchtask", "SubjectLogonId": "0x2b78cd"}),
            "index": "winlogbeat-7.9.1-2020.09.21",
        },
        "records": [
            ("WORKSTATION5", SYSMON, 2503118, 13, {"TargetObject": "HKU\\S-1-5-21-4228717743-1032521047-1810997296-1104\\Software\\Microsoft\\Windows\\CurrentVersion\\debug"}),
            ("WORKSTATION5", SYSMON, 2503123, 1, {"User": "THESHIRE\\pgustavo", "LogonId": "0x2b78cd"}),
            ("WORKSTATION5", "Microsoft-Windows-TaskScheduler/Operational", 5249, 106, {"TaskName": "\\MordorSchtask", "UserContext": "THESHIRE\\pgustavo"}),
            ("WORKSTATION5", "Security", 619625, 4698, {"TaskName": "\\MordorSchtask", "SubjectLogonId": "0x2b78cd"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "medium",
            "entities": [W5, PG], "source": [W5, PG],
            "impacted_assets": [W5], "techniques": ["T1053.005"],
        },
        "why": "The Empire agent's powershell (PID 7312, pgustavo, LogonId 0x2b78cd) first wrote a Base64 stager into "
               "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\debug (Sysmon 13 rec 2503118), then ran schtasks "
               "/Create /TN MordorSchtask /TR \"powershell -NonI -W hidden -c IEX(...(gp HKCU:...).debug)\" (Sysmon "
               "1 rec 2503123); the task was registered for THESHIRE\\pgustavo (TaskScheduler 106 rec 5249, 4698 rec "
               "619625). User-level persistence on WORKSTATION5.",
    },
    {
        "id": "otrf-remote-schtask-create",
        "title": "Scheduled task created from the network on WORKSTATION6 (schtask_create)",
        "capture": "schtask_create", "lab": None, "format": "ocsf",
        "alert": {
            "time": "2020-12-19T12:00:22.264Z", "severity": "high",
            "rule": "Remote Scheduled Task Creation",
            "title": "Scheduled task \\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager created on WORKSTATION6 from the network",
            "description": "A scheduled task was registered (4698) by a session that logged on from the network "
                           "(4624 type 3 from 172.18.39.5) seconds before. The task poses as a built-in "
                           "SoftwareProtectionPlatform task, runs as SYSTEM at boot and launches cmd.exe.",
            "attack": [("T1053.005", "Scheduled Task", "TA0008"),
                       ("T1053.005", "Scheduled Task", "TA0003")],
            "host": {"name": "WORKSTATION6.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": "S-1-5-21-3786818125-2382361537-3207726629-1104",
                     "logon_id": "0xead4335"},
            "source": {"ip": "172.18.39.5", "port": 56588},
            "resources": [{"type": "Scheduled Task",
                           "name": "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager",
                           "data": {"action": "C:\\Windows\\system32\\cmd.exe /C C:\\Windows\\System32\\notepad.exe",
                                    "trigger": "BootTrigger", "run_as": "SYSTEM"}}],
            "source_event": security(4698, None, action="A scheduled task was created",
                                     category=["configuration"], type_=["creation"], type_uid=600301,
                                     type_name="Scheduled Job Activity: Create",
                                     original_time="2020-12-19T07:00:22.264Z",
                                     event_data={"TaskName": "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager",
                                                 "SubjectLogonId": "0xead4335"}),
            "data_sources": ["Security", SYSMON],
        },
        "records": [
            ("WORKSTATION5", SYSMON, None, 1, {"Image": r"C:\Windows\System32\schtasks.exe", "UtcTime": "2020-12-19 12:00:22.190", "User": "THESHIRE\\pgustavo"}),
            ("WORKSTATION5", SYSMON, None, 3, {"SourcePort": "56588", "DestinationIp": "172.18.39.6", "DestinationPort": "49671"}),
            ("WORKSTATION6", "Security", None, 4624, {"TargetLogonId": "0xead4335", "IpAddress": "172.18.39.5", "IpPort": "56588"}),
            ("WORKSTATION6", "Security", None, 4698, {"SubjectLogonId": "0xead4335", "TaskName": "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1053.005"],
        },
        "why": "No record numbers in this capture; records by time (true UTC = @timestamp + 5 h). On WORKSTATION5 "
               "pgustavo's cmd ran schtasks /create /F /tn \\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager "
               "/tr \"cmd.exe /C notepad.exe\" /sc ONSTART /ru system /S WORKSTATION6 (Sysmon 1, UtcTime 12:00:22.190, "
               "LogonId 0x14f392e) and connected 172.18.39.5:56588 -> 172.18.39.6:49671 (Sysmon 3); WORKSTATION6 "
               "logged pgustavo on from 172.18.39.5 port 56588 (4624 @07:00:22.238, LogonId 0xEAD4335) and that "
               "logon registered the task (4698 @07:00:22.264; TaskScheduler 106/140). A masquerading SYSTEM boot "
               "task planted remotely.",
    },
    {
        "id": "otrf-ntdsutil-ifm",
        "title": "ntdsutil IFM media created on DC01 (cmd_dumping_ntds_dit_file_ntdsutil)",
        "capture": "cmd_dumping_ntds_dit_file_ntdsutil", "lab": PANDALAB_LAB, "format": "ecs",
        "alert": {
            "time": "2023-07-19T16:03:37.257Z", "severity": "high", "rule_type": "eql",
            "rule": "NTDS or SAM Database File Copied",
            "description": "Identifies the use of ntdsutil.exe to create Install-From-Media (IFM) output, which "
                           "copies the Active Directory database (ntds.dit) and the SYSTEM/SECURITY hives. "
                           "Attackers use this to extract every domain credential offline.",
            "reason": "process event with process ntdsutil.exe, parent process cmd.exe, by Administrator on "
                      "DC01.pandalab.com created high alert NTDS or SAM Database File Copied.",
            "attack": [("T1003.003", "NTDS", "TA0006")],
            "parent_names": {"T1003": "OS Credential Dumping"},
            "host": {"name": "DC01.pandalab.com"},
            "user": {"name": "Administrator", "domain": "PANDALAB", "sid": "S-1-5-21-477444970-2264162048-1418806404-500"},
            "process": {"executable": r"C:\Windows\System32\ntdsutil.exe",
                        "command_line": r'ntdsutil  "ac i ntds" "ifm" "create full C:\Windows\Temp\ntds_T1003" q q',
                        "pid": 2772, "entity_id": "{fe86be69-0959-64b8-0b03-000000001000}",
                        "parent": {"executable": r"C:\Windows\System32\cmd.exe", "command_line": '"C:\\Windows\\system32\\cmd.exe" ',
                                   "pid": 3824, "entity_id": "{fe86be69-090f-64b8-0903-000000001000}"}},
            "source_event": sysmon(1, None, event_data={"LogonId": "0x627b7", "IntegrityLevel": "High",
                                                       "UtcTime": "2023-07-19 16:03:37.257"}),
            "index": "logs-windows.sysmon_operational-default",
        },
        "records": [
            ("DC01", SYSMON, None, 1, {"Image": r"C:\Windows\System32\ntdsutil.exe", "LogonId": "0x627b7", "User": "PANDALAB\\Administrator"}),
            ("DC01", "Security", None, 4688, {"NewProcessName": r"C:\Windows\System32\ntdsutil.exe", "SubjectLogonId": "0x627b7"}),
            ("DC01", SYSMON, None, 11, {"TargetFilename": "C:\\Windows\\Temp\\ntds_T1003\\Active Directory\\ntds.dit"}),
            ("DC01", SYSMON, None, 11, {"TargetFilename": "C:\\Windows\\Temp\\ntds_T1003\\registry\\SYSTEM"}),
            ("DC01", "System", None, 104, {}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [DC01, PADMIN], "source": [DC01, PADMIN],
            "impacted_assets": [DC01], "techniques": ["T1003.003"],
        },
        "why": "No record numbers; Sysmon UtcTime is true UTC, @timestamp is the DC's local clock (-7 h). PANDALAB\\"
               "Administrator's interactive session (LogonId 0x627b7, cmd.exe from explorer) ran ntdsutil \"ac i "
               "ntds\" \"ifm\" \"create full C:\\Windows\\Temp\\ntds_T1003\" q q (Sysmon 1 UtcTime 16:03:37.257, 4688 "
               "@09:03:37.257); VSS started and ntdsutil wrote ...\\ntds_T1003\\Active Directory\\ntds.dit, "
               "registry\\SYSTEM and SECURITY (Sysmon 11, 16:03:49-55). A full AD database copy to Temp, preceded by "
               "clearing the PowerShell/Operational log (System 104 @09:02:17): credential theft from the DC itself.",
    },
    {
        "id": "otrf-comsvcs-minidump",
        "title": "rundll32 comsvcs.dll MiniDump on the workgroup VM WORKSTATION5 (psh_lsass_memory_dump_comsvcs)",
        "capture": "psh_lsass_memory_dump_comsvcs", "lab": None, "format": "ecs",
        "alert": {
            "time": "2020-10-18T23:50:05.910Z", "severity": "high", "rule_type": "eql",
            "rule": "Potential Credential Access via LSASS Memory Dump (comsvcs.dll MiniDump)",
            "description": "Identifies rundll32.exe calling the MiniDump export of comsvcs.dll to write a full "
                           "memory dump of a process, typically lsass.exe, to disk.",
            "reason": "process event with process rundll32.exe, parent process powershell.exe, by wardog on "
                      "WORKSTATION5 created high alert Potential Credential Access via LSASS Memory Dump.",
            "attack": [("T1003.001", "LSASS Memory", "TA0006")],
            "parent_names": {"T1003": "OS Credential Dumping"},
            "host": {"name": "WORKSTATION5"},
            "user": {"name": "wardog", "domain": "WORKSTATION5", "sid": "S-1-5-21-3940915590-64593676-1414006259-500"},
            "process": {"executable": r"C:\Windows\System32\rundll32.exe",
                        "command_line": r'"C:\Windows\System32\rundll32.exe" C:\windows\System32\comsvcs.dll MiniDump 756 C:\Users\wardog\AppData\Local\Temp\lsass-comsvcs.dmp full',
                        "pid": 4824, "entity_id": "{39e4a257-d4ad-5f8c-3303-000000000700}",
                        "parent": {"executable": PS, "pid": 6100,
                                   "entity_id": "{39e4a257-d445-5f8c-2c03-000000000700}"}},
            "file": r"C:\Users\wardog\AppData\Local\Temp\lsass-comsvcs.dmp",
            "source_event": sysmon(1, None, event_data={"LogonId": "0xc61d9", "IntegrityLevel": "High",
                                                       "UtcTime": "2020-10-18 23:50:05.910"}),
            "index": "logs-windows.sysmon_operational-default",
        },
        "records": [
            ("WORKSTATION5", SYSMON, None, 1, {"Image": r"C:\Windows\System32\rundll32.exe", "User": "WORKSTATION5\\wardog", "LogonId": "0xc61d9"}),
            ("WORKSTATION5", SYSMON, None, 10, {"SourceImage": r"C:\Windows\System32\rundll32.exe", "GrantedAccess": "0x1410", "TargetImage": r"C:\windows\system32\lsass.exe"}),
            ("WORKSTATION5", SYSMON, None, 11, {"TargetFilename": r"C:\Users\wardog\AppData\Local\Temp\lsass-comsvcs.dmp"}),
            ("WORKSTATION5", "Security", None, 4688, {"NewProcessName": r"C:\Windows\System32\rundll32.exe", "SubjectDomainName": "WORKSTATION5"}),
            ("WORKSTATION5", "Security", None, 1102, {}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [LAB_W5, LAB_WD], "source": [LAB_W5, LAB_WD],
            "impacted_assets": [LAB_W5], "techniques": ["T1003.001"],
        },
        "why": "A stand-alone (WORKGROUP) VM named WORKSTATION5, not THESHIRE's: no record numbers, local account "
               "WORKSTATION5\\wardog (RID 500). From powershell (PID 6100) wardog ran rundll32 comsvcs.dll MiniDump "
               "756 ...\\lsass-comsvcs.dmp full (Sysmon 1 UtcTime 23:50:05.910, 4688, LogonId 0xc61d9); rundll32 "
               "opened lsass (PID 756) with 0x1410 then 0x1FFFFF (Sysmon 10) and wrote lsass-comsvcs.dmp (Sysmon "
               "11), 26 s after the Security log was cleared (1102). Keys: host WORKSTATION5 (no FQDN exists), "
               "account WARDOG@WORKSTATION5 (name@its domain, the machine).",
    },
    {
        "id": "otrf-fax-service-binpath",
        "title": "Fax service ImagePath set to PowerShell on the workgroup VM WORKSTATION5 (cmd_service_mod_fax)",
        "capture": "cmd_service_mod_fax", "lab": None, "format": "ocsf",
        "alert": {
            "time": "2020-10-22T00:45:33.681Z", "severity": "high",
            "rule": "Service ImagePath modified to a script interpreter",
            "title": "Fax service binary path changed to powershell.exe on WORKSTATION5",
            "description": "The ImagePath of an existing Windows service was changed to run powershell.exe with an "
                           "inline command (sc config <svc> binPath= ...). Hijacking an existing service makes "
                           "the Service Control Manager run attacker code with the service's account.",
            "attack": [("T1543.003", "Windows Service", "TA0004"),
                       ("T1543.003", "Windows Service", "TA0003")],
            "host": {"name": "WORKSTATION5", "type_id": 2},
            "user": {"name": "wardog", "domain": "WORKSTATION5", "logon_id": "0xc61d9"},
            "process": {"executable": r"C:\Windows\System32\sc.exe",
                        "command_line": 'sc  config Fax binPath= "C:\\windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe -noexit -c \\"write-host \'T1543.003 Test\'\\""',
                        "pid": 3112, "entity_id": "{39e4a257-d62d-5f90-8710-000000000700}", "integrity": "High",
                        "user": {"name": "wardog", "domain": "WORKSTATION5"},
                        "parent": {"executable": r"C:\Windows\System32\cmd.exe", "pid": 8692,
                                   "entity_id": "{39e4a257-d603-5f90-8010-000000000700}"}},
            "resources": [{"type": "Windows Service", "name": "Fax", "uid": "Fax",
                           "data": {"image_path": "C:\\windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe -noexit -c \"write-host 'T1543.003 Test'\""}}],
            "evidence_data": {"registry_key": "HKLM\\System\\CurrentControlSet\\Services\\Fax\\ImagePath",
                              "writer": "C:\\windows\\system32\\services.exe"},
            "source_event": sysmon(13, None, original_time="2020-10-21T08:45:33.693Z",
                                   event_data={"TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\Fax\\ImagePath",
                                               "UtcTime": "2020-10-22 00:45:33.681"}),
            "data_sources": [SYSMON, "Security", "System"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, None, 1, {"Image": r"C:\Windows\System32\sc.exe", "UtcTime": "2020-10-22 00:45:33.684", "User": "WORKSTATION5\\wardog"}),
            ("WORKSTATION5", SYSMON, None, 13, {"TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\Fax\\ImagePath", "UtcTime": "2020-10-22 00:45:33.681"}),
            ("WORKSTATION5", SYSMON, None, 1, {"Image": r"C:\Windows\System32\sc.exe", "CommandLine": "sc  start Fax"}),
            ("WORKSTATION5", SYSMON, None, 1, {"Image": PS, "ParentImage": r"C:\Windows\System32\services.exe", "User": "NT AUTHORITY\\NETWORK SERVICE"}),
            ("WORKSTATION5", "System", None, 7000, {"param1": "Fax"}),
            ("WORKSTATION5", "Security", None, 1102, {}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [LAB_W5, LAB_WD], "source": [LAB_W5, LAB_WD],
            "impacted_assets": [LAB_W5], "techniques": ["T1543.003"],
        },
        "why": "Workgroup VM WORKSTATION5, no record numbers; times are Sysmon UtcTime (@timestamp is local, 12-hour). "
               "Local admin wardog (LogonId 0xc61d9) ran sc config Fax binPath= \"powershell.exe -noexit -c ...\" "
               "(Sysmon 1 00:45:33.684) and services.exe rewrote Services\\Fax\\ImagePath (Sysmon 13 00:45:33.681); "
               "sc start Fax (00:45:35.266) made services.exe launch that powershell as NETWORK SERVICE (Sysmon 1, "
               "4688) before the start timed out (System 7009/7000); the path was restored at 00:45:41 and the "
               "Security log had been cleared at the start (1102).",
    },
]
