"""What each Windows channel stamps on its events (provider GUIDs, Security task categories and versions,
Sysmon rule names), the PE metadata Sysmon reports for well-known images, and the AD schema GUIDs of
directory-service events. Tables only, kept apart from the `Events` writer so its methods read as events."""

SEC_GUID = "{54849625-5478-4994-A5BA-3E3B0328C30D}"
SYSMON_GUID = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"
SCM_GUID = "{555908D1-A6D7-4695-8E1E-26931D2012F4}"
EVTLOG_GUID = "{FC65DDD8-D6EF-4962-83D5-6E5CFE9CE148}"
SYSMON_CH = "Microsoft-Windows-Sysmon/Operational"

SEC_TASK = {4624: (12544, "Logon"), 4625: (12544, "Logon"), 4634: (12545, "Logoff"), 4647: (12545, "Logoff"),
            4648: (12544, "Logon"), 4672: (12548, "Special Logon"), 4662: (14080, "Directory Service Access"),
            5136: (14081, "Directory Service Changes"), 4688: (13312, "Process Creation"), 4768: (14339, "Kerberos Authentication Service"),
            4769: (14337, "Kerberos Service Ticket Operations"), 4771: (14339, "Kerberos Authentication Service"),
            4776: (14336, "Credential Validation"), 4723: (13824, "User Account Management"), 4724: (13824, "User Account Management"),
            4738: (13824, "User Account Management"), 4720: (13824, "User Account Management"), 4722: (13824, "User Account Management"),
            4728: (13826, "Security Group Management"), 4729: (13826, "Security Group Management"),
            4732: (13826, "Security Group Management"), 4733: (13826, "Security Group Management"), 4756: (13826, "Security Group Management"),
            5140: (12808, "File Share"), 5145: (12811, "Detailed File Share"), 4697: (12289, "Security System Extension"),
            4698: (12804, "Other Object Access Events"), 4699: (12804, "Other Object Access Events"), 4702: (12804, "Other Object Access Events"),
            4663: (12800, "File System"), 4656: (12800, "File System"), 4673: (13056, "Sensitive Privilege Use"), 4674: (13056, "Sensitive Privilege Use"),
            5156: (12810, "Filtering Platform Connection"), 4742: (13825, "Computer Account Management"),
            4740: (13824, "User Account Management"), 4670: (13570, "Authorization Policy Change")}
SEC_VERSION = {4624: 2, 4625: 0, 4688: 2, 4662: 0, 4768: 0, 4769: 0, 5140: 1, 5145: 0, 4634: 0, 4672: 0, 5136: 0}
SYSMON_CAT = {1: "Process Create (rule: ProcessCreate)", 3: "Network connection detected (rule: NetworkConnect)",
              5: "Process terminated (rule: ProcessTerminate)", 10: "Process accessed (rule: ProcessAccess)",
              11: "File created (rule: FileCreate)", 13: "Registry value set (rule: RegistryEvent)", 22: "Dns query (rule: DnsQuery)",
              7: "Image loaded (rule: ImageLoad)"}
SYSMON_VER = {1: 5, 3: 5, 5: 3, 10: 3, 11: 2, 13: 2, 22: 5, 7: 3}

LOGON_TYPE_DESC = {2: "Interactive", 3: "Network", 4: "Batch", 5: "Service", 7: "Unlock", 10: "RemoteInteractive", 11: "CachedInteractive"}

# well-known images: path -> (description, product, company, original file name)
IMAGES = {
    "cmd.exe": ("Windows Command Processor", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "Cmd.Exe"),
    "powershell.exe": ("Windows PowerShell", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "PowerShell.EXE"),
    "svchost.exe": ("Host Process for Windows Services", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "svchost.exe"),
    "wmiprvse.exe": ("WMI Provider Host", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "Wmiprvse.exe"),
    "wsmprovhost.exe": ("Host process for WinRM plug-ins", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "wsmprovhost.exe"),
    "rundll32.exe": ("Windows host process (Rundll32)", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "RUNDLL32.EXE"),
    "reg.exe": ("Registry Console Tool", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "reg.exe"),
    "ntdsutil.exe": ("NT5DS", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "ntdsutil.exe"),
    "taskhostw.exe": ("Host Process for Windows Tasks", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "taskhostw.exe"),
    "conhost.exe": ("Console Window Host", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "CONHOST.EXE"),
    "schtasks.exe": ("Task Scheduler Configuration Tool", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "schtasks.exe"),
    "net.exe": ("Net Command", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "net.exe"),
    "whoami.exe": ("whoami - displays logged on user information", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "whoami.exe"),
    "rdpclip.exe": ("RDP Clipboard Monitor", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "rdpclip.exe"),
    "explorer.exe": ("Windows Explorer", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "EXPLORER.EXE"),
    "vssadmin.exe": ("Command Line Interface for Microsoft\u00ae Volume Shadow Copy Service ", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "VSSADMIN.EXE"),
    "wevtutil.exe": ("Eventing Command Line Utility", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "wevtutil.exe"),
    "java.exe": ("OpenJDK Platform binary", "OpenJDK Platform 11.0.13", "Eclipse Adoptium", "java.exe"),
    "tomcat9.exe": ("Commons Daemon Service Runner", "Apache Tomcat", "Apache Software Foundation", "prunsrv.exe"),
    "chrome.exe": ("Google Chrome", "Google Chrome", "Google LLC", "chrome.exe"),
    "OUTLOOK.EXE": ("Microsoft Outlook", "Microsoft Outlook", "Microsoft Corporation", "Outlook.exe"),
    "WINWORD.EXE": ("Microsoft Word", "Microsoft Office", "Microsoft Corporation", "WinWord.exe"),
    "ms-teams.exe": ("Microsoft Teams", "Microsoft Teams", "Microsoft Corporation", "ms-teams.exe"),
    "OneDrive.exe": ("Microsoft OneDrive", "Microsoft OneDrive", "Microsoft Corporation", "OneDrive.exe"),
    "MpCmdRun.exe": ("Microsoft Malware Protection Command Line Utility", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "MpCmdRun.exe"),
    "MsMpEng.exe": ("Antimalware Service Executable", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "MsMpEng.exe"),
    "gpupdate.exe": ("Microsoft\u00ae Windows\u00ae Operating System Group Policy Update Utility", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "gpupdate.exe"),
    "CompatTelRunner.exe": ("Microsoft Compatibility Telemetry", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "CompatTelRunner.exe"),
    "MonitoringHost.exe": ("Health Service Monitoring Host Process", "System Center Operations Manager", "Microsoft Corporation", "MonitoringHost.exe"),
    "CcmExec.exe": ("CCM Executive", "Microsoft Endpoint Configuration Manager", "Microsoft Corporation", "CcmExec.exe"),
    "sqlservr.exe": ("SQL Server Windows NT - 64 Bit", "Microsoft SQL Server", "Microsoft Corporation", "sqlservr.exe"),
    "w3wp.exe": ("IIS Worker Process", "Internet Information Services", "Microsoft Corporation", "w3wp.exe"),
    "VeeamAgent.exe": ("Veeam Agent", "Veeam Backup & Replication", "Veeam Software Group GmbH", "VeeamAgent.exe"),
    "VeeamGuestHelper.exe": ("Veeam Guest Helper", "Veeam Backup & Replication", "Veeam Software Group GmbH", "VeeamGuestHelper.exe"),
    "ccmsetup.exe": ("Configuration Manager Client Setup Bootstrap", "Microsoft Endpoint Configuration Manager", "Microsoft Corporation", "ccmsetup.exe"),
    "PSEXESVC.exe": ("PsExec Service", "Sysinternals PsExec", "Sysinternals - www.sysinternals.com", "psexesvc.exe"),
    "procdump64.exe": ("Sysinternals process dump utility", "ProcDump", "Sysinternals - www.sysinternals.com", "procdump"),
    "WindowsAzureGuestAgent.exe": ("Windows Azure Guest Agent", "Windows Azure Guest Agent", "Microsoft Corporation", "WindowsAzureGuestAgent.exe"),
    "bomgar-scc.exe": ("BeyondTrust Jump Client", "BeyondTrust Remote Support", "BeyondTrust Corporation", "bomgar-scc.exe"),
    "7z.exe": ("7-Zip Console", "7-Zip", "Igor Pavlov", "7z.exe"),
    "wmic.exe": ("WMI Commandline Utility", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "wmic.exe"),
    "mstsc.exe": ("Remote Desktop Connection", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "mstsc.exe"),
    "ssms.exe": ("SSMS", "Microsoft SQL Server Management Studio", "Microsoft Corporation", "Ssms.exe"),
    "Rubeus.exe": ("Rubeus", "Rubeus", "", "Rubeus.exe"),
    "lsass.exe": ("Local Security Authority Process", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "lsass.exe"),
    "services.exe": ("Services and Controller app", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "services.exe"),
    "WerFault.exe": ("Windows Problem Reporting", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "WerFault.exe"),
    "certutil.exe": ("CertUtil.exe", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "CertUtil.exe"),
    "curl.exe": ("curl executable", "The curl executable", "curl, https://curl.se/", "curl.exe"),
    "robocopy.exe": ("Microsoft Robocopy", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "robocopy.exe"),
    "sc.exe": ("Service Control Manager Configuration Tool", "Microsoft\u00ae Windows\u00ae Operating System", "Microsoft Corporation", "sc.exe"),
    "iisreset.exe": ("IIS Reset Utility", "Internet Information Services", "Microsoft Corporation", "iisreset.exe"),
}



# directory GUIDs
DOMAIN_GUID = "7a3c1e52-9d4b-4f1e-8b2a-6c5d3e1f0a91"
DOMAIN_DNS_CLASS = "19195a5b-6da0-11d0-afd3-00c04fd930c9"
REPL_GET_CHANGES = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2"
REPL_GET_CHANGES_ALL = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"
REPL_GET_CHANGES_FILTERED = "89e95b76-444d-4c62-991a-0facbeda640c"
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
COMPUTER_CLASS = "bf967a86-0de6-11d0-a285-00aa003049e2"
GROUP_CLASS = "bf967a9c-0de6-11d0-a285-00aa003049e2"
OU_CLASS = "bf967aa5-0de6-11d0-a285-00aa003049e2"
PROP_PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"
PROP_MEMBER = "bf9679c0-0de6-11d0-a285-00aa003049e2"
PROP_USER_ACCOUNT_RESTRICTIONS = "4c164200-20c0-11d0-a768-00aa006e0529"
PROP_GENERAL_INFO = "59ba2f42-79a2-11d0-9020-00c04fc2d3cf"
PROP_KEYCREDLINK = "5b47d60f-6090-40b2-9f37-2a4de88f3063"
