; Streampai desktop installer for Windows x64, built on Linux with Debian's makensis (NSIS 3.08)
; by scripts/build-windows.sh. Our own script rather than Tauri's NSIS bundler: that bundler
; insists on downloading its nsis_tauri_utils plugin (checked by SHA-1 against the upstream
; release binary), which this build machine cannot reach; see the README.
;
; Defines passed by the build script (makensis -D...):
;   VERSION      app version, e.g. 0.1.0          VERSION4   the same with four parts, 0.1.0.0
;   STAGE        folder with streampai-desktop.exe (and WebView2Loader.dll when the build has one)
;   OUTFILE      the setup .exe to write           ICON       icons/icon.ico
;   WEBVIEW2LOADER  set when STAGE has WebView2Loader.dll
;   PERMACHINE   set for the per-machine variant (Program Files, HKLM, needs admin); default is
;                per-user (%LOCALAPPDATA%\Programs\Streampai, HKCU, no admin prompt)
;
; Command line (besides NSIS's own /S silent and /D=<folder>):
;   /WEBVIEW2BOOTSTRAPPER=<url>   where to fetch the WebView2 bootstrapper when the runtime is
;                                 missing (default: Microsoft's evergreen bootstrapper link; a
;                                 managed network can point it at its own mirror)
;   /NOWEBVIEW2                   never fetch or run the bootstrapper (the app will not open its
;                                 windows until WebView2 is installed some other way)

!macro _Need NAME
  !ifndef ${NAME}
    !error "${NAME} is not defined: build with scripts/build-windows.sh"
  !endif
!macroend
!insertmacro _Need VERSION
!insertmacro _Need VERSION4
!insertmacro _Need STAGE
!insertmacro _Need OUTFILE
!insertmacro _Need ICON

Unicode true
; 64-bit like the app: no WOW64 registry or folder redirection, runs under a plain wine64 too.
Target amd64-unicode
; "setup" in the output name: Windows' installer detection (the warning's shims) only applies to
; 32-bit programs without an execution level in their manifest; this one has both.
!pragma warning disable 9000
ManifestDPIAware true
!ifdef COMPRESSOR
  SetCompressor ${COMPRESSOR} ; the installer test: zlib, fast to build
!else
  SetCompressor /SOLID lzma
!endif

!define PRODUCT "Streampai"
!define PUBLISHER "Streampai"
!define BUNDLEID "app.streampai.desktop" ; tauri.conf.json identifier: the toasts' AppUserModelID
!define EXE "streampai-desktop.exe"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCT}"
!define RUNKEY "Software\Microsoft\Windows\CurrentVersion\Run" ; start on login (autostart plugin)
!define WEBVIEW2_GUID "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"
!define WEBVIEW2_URL "https://go.microsoft.com/fwlink/p/?LinkId=2124703"

!include MUI2.nsh
!include LogicLib.nsh
!include FileFunc.nsh
!include x64.nsh
!include StrFunc.nsh
${StrStr}
!include Win\COM.nsh
!include Win\Propkey.nsh

Name "${PRODUCT}"
OutFile "${OUTFILE}"
BrandingText "${PRODUCT} ${VERSION}"
VIProductVersion "${VERSION4}"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "FileDescription" "${PRODUCT} installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "LegalCopyright" "${PUBLISHER}"

!ifdef PERMACHINE
  RequestExecutionLevel admin
  !define ROOT HKLM
  InstallDir "$PROGRAMFILES64\${PRODUCT}"
!else
  RequestExecutionLevel user
  !define ROOT HKCU
  ; $LOCALAPPDATA\Programs is FOLDERID_UserProgramFiles, where per-user apps go.
  InstallDir "$LOCALAPPDATA\Programs\${PRODUCT}"
!endif
; A reinstall goes where the last install went.
InstallDirRegKey ${ROOT} "${UNINSTKEY}" "InstallLocation"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!define MUI_FINISHPAGE_RUN
!define MUI_FINISHPAGE_RUN_TEXT "Start ${PRODUCT}"
!define MUI_FINISHPAGE_RUN_FUNCTION RunApp
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

Var WebView2Url

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "${PRODUCT} needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  !ifdef PERMACHINE
    SetShellVarContext all
  !else
    SetShellVarContext current
  !endif
  StrCpy $WebView2Url "${WEBVIEW2_URL}"
  ${GetParameters} $0
  ; Not ${GetOptions}: it cuts a value at the next "/", and a URL has several.
  ${StrStr} $1 $0 "/WEBVIEW2BOOTSTRAPPER="
  ${If} $1 != ""
    StrCpy $1 $1 "" 22
    StrCpy $2 0
    ${Do}
      StrCpy $3 $1 1 $2
      ${IfThen} $3 == "" ${|} ${ExitDo} ${|}
      ${IfThen} $3 == " " ${|} ${ExitDo} ${|}
      IntOp $2 $2 + 1
    ${Loop}
    StrCpy $WebView2Url $1 $2
  ${EndIf}
  ClearErrors
  ${GetOptions} $0 "/NOWEBVIEW2" $1
  ${IfNot} ${Errors}
    StrCpy $WebView2Url ""
  ${EndIf}
FunctionEnd

Function un.onInit
  SetRegView 64
  !ifdef PERMACHINE
    SetShellVarContext all
  !else
    SetShellVarContext current
  !endif
FunctionEnd

; Started from the finish page: through Explorer, so a per-machine (elevated) installer does not
; hand its administrator rights to the app.
Function RunApp
  Exec '"$WINDIR\explorer.exe" "$INSTDIR\${EXE}"'
FunctionEnd

; Fails (sets the error flag) while the app runs: Windows does not let a running .exe be opened
; for writing.
!macro RefuseWhileRunning
  ${If} ${FileExists} "$INSTDIR\${EXE}"
    retry:
    ClearErrors
    FileOpen $0 "$INSTDIR\${EXE}" a
    ${If} ${Errors}
      MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION \
        "${PRODUCT} is running. Quit it from its tray menu (Quit Streampai), then choose Retry." \
        /SD IDCANCEL IDRETRY retry
      SetErrorLevel 3
      Abort "${PRODUCT} is running"
    ${EndIf}
    FileClose $0
  ${EndIf}
!macroend

; The WebView2 runtime (the app's windows are WebView2): present if Edge's updater lists it for
; the machine or the user. Otherwise the evergreen bootstrapper is downloaded and run; it
; installs the current runtime.
Section "WebView2" SecWebView2
  ReadRegStr $1 HKLM "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_GUID}" "pv"
  ${If} $1 == ""
  ${OrIf} $1 == "0.0.0.0"
    ReadRegStr $1 HKCU "SOFTWARE\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_GUID}" "pv"
  ${EndIf}
  ${If} $1 != ""
  ${AndIf} $1 != "0.0.0.0"
    DetailPrint "WebView2 runtime $1 is installed."
    Return
  ${EndIf}
  ${If} $WebView2Url == ""
    DetailPrint "WebView2 runtime missing; not installing it (/NOWEBVIEW2)."
    Return
  ${EndIf}
  InitPluginsDir
  StrCpy $2 "$PLUGINSDIR\MicrosoftEdgeWebview2Setup.exe"
  DetailPrint "Downloading the WebView2 runtime installer from $WebView2Url"
  ; URLDownloadToFile: Windows' own HTTP(S) stack (proxy settings, TLS, redirects).
  System::Call 'urlmon::URLDownloadToFileW(p 0, w "$WebView2Url", w "$2", i 0, p 0) i .r3'
  ${If} $3 <> 0
  ${OrIfNot} ${FileExists} $2
    DetailPrint "Download failed (error $3)."
    MessageBox MB_ICONSTOP "Could not download the WebView2 runtime, which ${PRODUCT} needs. \
      Check the internet connection and run the installer again." /SD IDOK
    SetErrorLevel 4
    Abort "WebView2 download failed"
  ${EndIf}
  DetailPrint "Installing the WebView2 runtime"
  ExecWait '"$2" /silent /install' $3
  ${If} $3 <> 0
    DetailPrint "The WebView2 installer failed (exit code $3)."
    MessageBox MB_ICONSTOP "The WebView2 runtime installer failed (exit code $3)." /SD IDOK
    SetErrorLevel 4
    Abort "WebView2 install failed"
  ${EndIf}
  DetailPrint "WebView2 runtime installed."
SectionEnd

Section "Streampai" SecApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  !insertmacro RefuseWhileRunning
  File "${STAGE}\${EXE}"
  !ifdef WEBVIEW2LOADER
    File "${STAGE}\WebView2Loader.dll"
  !endif
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Start menu shortcut, carrying the app's AppUserModelID: Windows shows an unpackaged app's
  ; toasts only when a Start menu shortcut has the ID the app sends them with (the identifier).
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  !insertmacro ComHlpr_CreateInProcInstance ${CLSID_ShellLink} ${IID_IShellLink} r0 ""
  ${If} $0 P<> 0
    ${IShellLink::SetPath} $0 '("$INSTDIR\${EXE}").r1'
    ${IShellLink::SetWorkingDirectory} $0 '("$INSTDIR")'
    ${IShellLink::SetDescription} $0 '("Simulcast companion for OBS")'
    ${IUnknown::QueryInterface} $0 '("${IID_IPropertyStore}",.r1)'
    ${If} $1 P<> 0
      System::Call '*${SYSSTRUCT_PROPERTYKEY}(${PKEY_AppUserModel_ID})p.r2'
      System::Call '*(&w${NSIS_MAX_STRLEN} "${BUNDLEID}")p.r4'
      System::Call '*(&i2 ${VT_LPWSTR}, &i6, p r4, &i8)p.r3'
      ${IPropertyStore::SetValue} $1 '($2,$3).r5'
      ${IfThen} $5 <> 0 ${|} DetailPrint "Shortcut: cannot set the AppUserModelID ($5)" ${|}
      ${IPropertyStore::Commit} $1 ""
      ${IUnknown::Release} $1 ""
      System::Free $2
      System::Free $3
      System::Free $4
    ${EndIf}
    ${IUnknown::QueryInterface} $0 '("${IID_IPersistFile}",.r1)'
    ${If} $1 P<> 0
      ${IPersistFile::Save} $1 '("$SMPROGRAMS\${PRODUCT}.lnk",1).r5'
      ${IUnknown::Release} $1 ""
    ${EndIf}
    ${IUnknown::Release} $0 ""
  ${EndIf}
  ${IfNot} ${FileExists} "$SMPROGRAMS\${PRODUCT}.lnk"
    ; No COM shell link here: a plain shortcut (toasts then show without the app's name).
    CreateShortCut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\${EXE}"
  ${EndIf}

  ; Apps & features (Add/Remove Programs).
  WriteRegStr ${ROOT} "${UNINSTKEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr ${ROOT} "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr ${ROOT} "${UNINSTKEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr ${ROOT} "${UNINSTKEY}" "DisplayIcon" '"$INSTDIR\${EXE}",0'
  WriteRegStr ${ROOT} "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr ${ROOT} "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr ${ROOT} "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD ${ROOT} "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD ${ROOT} "${UNINSTKEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD ${ROOT} "${UNINSTKEY}" "EstimatedSize" $0
SectionEnd

; Removes the program, its shortcut, its Apps & features entry and its start-on-login entry.
; Settings, history, logs (%APPDATA%\streampai), the WebView2 cache
; (%LOCALAPPDATA%\${BUNDLEID}) and the secrets in Credential Manager stay: reinstalling keeps
; the streamer's setup. The README says how to remove them.
Section "Uninstall"
  !insertmacro RefuseWhileRunning
  Delete "$INSTDIR\${EXE}"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  DeleteRegKey ${ROOT} "${UNINSTKEY}"
  ; tauri-plugin-autostart names its Run value after the product name.
  DeleteRegValue HKCU "${RUNKEY}" "${PRODUCT}"
  DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run" "${PRODUCT}"
SectionEnd
