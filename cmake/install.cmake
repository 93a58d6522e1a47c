# install.cmake - what `cmake --install` puts on a machine, and the Debian package CPack makes
# of it (`cpack -G DEB` in the build directory, or the `package` target); docs/install.md.
#   <prefix>/bin              callqa, callqa-service
#   <prefix>/share/man/man1   callqa.1.gz, callqa-service.1.gz: made at build time from the
#                             help text the programs print (cmake/man_from_help.sh)
#   <prefix>/share/doc/callqa copyright (and, in the package, changelog.Debian.gz)
# and, with CQ_INSTALL_SYSTEM_FILES (ON), the files systemd and logrotate read where they read
# them, whatever the prefix:
#   /etc/callqa/callqa.conf   the settings (config/callqa.conf; an existing one is kept and the
#                             new one written beside it as callqa.conf.dist)
#   /etc/logrotate.d/callqa   deploy/logrotate-callqa
#   CQ_SYSTEMD_UNIT_DIR       callqa.service, callqa-worker.service, callqa-ingest.service
#                             (deploy/), running <prefix>/bin/callqa
#   CQ_SYSUSERS_DIR           callqa.conf: the system user callqa (deploy/callqa.sysusers)
# DESTDIR stages all of it (DESTDIR=/tmp/stage cmake --install build).
include(GNUInstallDirs)
option(CQ_INSTALL_SYSTEM_FILES
       "cmake --install: also /etc/callqa, /etc/logrotate.d, the systemd units and sysusers.d" ON)
# where the packages of Debian 12 put their units (/lib/systemd/system, as its debhelper does)
set(CQ_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "where the systemd units are installed")
set(CQ_SYSUSERS_DIR "/usr/lib/sysusers.d" CACHE PATH "where the sysusers.d file is installed")
set(CQ_PACKAGE_MAINTAINER "callqa maintainers <maintainers@users.noreply.b-seed-6a6126a1.example>"
    CACHE STRING "the Debian package's Maintainer")

# the version of the CMake project is the programs' (include/callqa/callqa.h: `callqa version`)
file(STRINGS ${CMAKE_SOURCE_DIR}/include/callqa/callqa.h cq_ver_line
     REGEX "^#define CQ_VERSION_STRING ")
if(NOT cq_ver_line MATCHES "\"${PROJECT_VERSION}\"")
  message(FATAL_ERROR "project(callqa VERSION ${PROJECT_VERSION}) and include/callqa/callqa.h's "
                      "CQ_VERSION_STRING differ: give both the same version")
endif()

# ---- the man pages, from the help text -----------------------------------------------------------
set(CQ_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(cq_man_sh ${CMAKE_SOURCE_DIR}/cmake/man_from_help.sh)
set(cq_cli $<TARGET_FILE:callqa_cli>)
# callqa --help's synopsis and commands by task, then a section for each of its headings with
# the pages of its commands (tests/cli/test_help.py: every command of callqa --help is here)
add_custom_command(
  OUTPUT ${CQ_MAN_DIR}/callqa.1.gz ${CQ_MAN_DIR}/callqa-service.1.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CQ_MAN_DIR}
  COMMAND sh ${cq_man_sh} ${CQ_MAN_DIR}/callqa.1 callqa 1 ${PROJECT_VERSION}
          "analyze call recordings, and the QA service" ${CMAKE_SOURCE_DIR}/cmake/callqa.1.tail
          callqa ${cq_cli} --help --
          "ANALYSE RECORDINGS AND CAPTURES::callqa analyze" ${cq_cli} analyze --help --
          "callqa analyze --transcribe" ${cq_cli} analyze --transcribe --help --
          "callqa analyze --pcap" ${cq_cli} analyze --pcap CAPTURE --help --
          "callqa classify" ${cq_cli} classify --help --
          "callqa sip" ${cq_cli} sip --help --
          "callqa investigate" ${cq_cli} investigate --help --
          "LIVE CALLS::callqa live" ${cq_cli} live --help --
          "QA SYSTEM::callqa serve" ${cq_cli} serve --help --
          "callqa worker" ${cq_cli} worker --help --
          "callqa requeue" ${cq_cli} requeue --help --
          "callqa ingest vicidial, callqa ingest watch" ${cq_cli} ingest --help --
          "callqa transcript import" ${cq_cli} transcript import --help --
          "callqa score" ${cq_cli} score --help --
          "callqa store migrate" ${cq_cli} store migrate --help --
          "callqa store audit" ${cq_cli} store audit --help --
          "callqa store routes" ${cq_cli} store routes --help --
          "callqa store redact" ${cq_cli} store redact --help --
          "callqa store purge, callqa store erase" ${cq_cli} store purge --help --
          "callqa user" ${cq_cli} user --help --
          "callqa ask grants" ${cq_cli} ask grants --help --
          "OTHER::callqa version" ${cq_cli} version --help --
  COMMAND sh ${cq_man_sh} ${CQ_MAN_DIR}/callqa-service.1 callqa-service 1 ${PROJECT_VERSION}
          "the service, worker and ingest commands of callqa"
          ${CMAKE_SOURCE_DIR}/cmake/callqa-service.1.tail
  COMMAND gzip -9nf ${CQ_MAN_DIR}/callqa.1 ${CQ_MAN_DIR}/callqa-service.1
  DEPENDS callqa_cli callqa_service_bin ${cq_man_sh} ${CMAKE_SOURCE_DIR}/cmake/callqa.1.tail
          ${CMAKE_SOURCE_DIR}/cmake/callqa-service.1.tail
  COMMENT "Man pages from the help text"
  VERBATIM)
# made with every build, but for the sanitizer builds (their programs are for the tests, and a
# leak report at exit would fail the build): there `cmake --build B --target callqa_man`
if(CQ_SANITIZE OR CQ_TSAN)
  set(cq_man_all "")
  set(cq_man_optional OPTIONAL)
else()
  set(cq_man_all ALL)
  set(cq_man_optional "")
endif()
add_custom_target(callqa_man ${cq_man_all}
                  DEPENDS ${CQ_MAN_DIR}/callqa.1.gz ${CQ_MAN_DIR}/callqa-service.1.gz)

# ---- the files ------------------------------------------------------------------------------------
install(TARGETS callqa_cli callqa_service_bin RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CQ_MAN_DIR}/callqa.1.gz ${CQ_MAN_DIR}/callqa-service.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 ${cq_man_optional})
install(FILES ${CMAKE_SOURCE_DIR}/deploy/deb/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
if(CQ_INSTALL_SYSTEM_FILES)
  install(FILES ${CMAKE_SOURCE_DIR}/deploy/logrotate-callqa DESTINATION /etc/logrotate.d
          RENAME callqa)
  install(FILES ${CMAKE_SOURCE_DIR}/deploy/callqa.sysusers DESTINATION ${CQ_SYSUSERS_DIR}
          RENAME callqa.conf)
  # At install time: the units run the programs of the prefix installed to (the package's
  # /usr/bin, or cmake --install's), and an edited /etc/callqa/callqa.conf is never overwritten.
  install(CODE "
    # file(INSTALL) puts DESTDIR before an absolute DESTINATION itself
    set(_conf \"\$ENV{DESTDIR}/etc/callqa/callqa.conf\")
    set(_name callqa.conf)
    if(EXISTS \"\${_conf}\")
      file(SHA256 \"\${_conf}\" _old)
      file(SHA256 \"${CMAKE_SOURCE_DIR}/config/callqa.conf\" _new)
      if(NOT _old STREQUAL _new)
        message(STATUS \"Kept: \${_conf} (the new one: callqa.conf.dist)\")
        set(_name callqa.conf.dist)
      endif()
    endif()
    file(INSTALL \"${CMAKE_SOURCE_DIR}/config/callqa.conf\" DESTINATION /etc/callqa
         RENAME \"\${_name}\")
    set(_bin \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    foreach(_u callqa callqa-worker callqa-ingest)
      file(READ \"${CMAKE_SOURCE_DIR}/deploy/\${_u}.service\" _t)
      string(REPLACE \"/usr/bin/callqa \" \"\${_bin}/callqa \" _t \"\${_t}\")
      file(WRITE \"${CMAKE_BINARY_DIR}/units/\${_u}.service\" \"\${_t}\")
      file(INSTALL \"${CMAKE_BINARY_DIR}/units/\${_u}.service\"
           DESTINATION \"${CQ_SYSTEMD_UNIT_DIR}\")
    endforeach()
  ")
endif()

# ---- the Debian package ---------------------------------------------------------------------------
# cpack -G DEB [-D CPACK_PACKAGE_VERSION=X.Y.Z] in the build directory: the tree above, under
# /usr, with the maintainer scripts of deploy/deb/ (the user, the state directories, the units),
# the conffiles marked, the binaries stripped, and the dependencies dpkg-shlibdeps finds
# (dpkg-dev) with libsndfile1, which decode.c loads at run time, libfftw3-single3 and libsoxr0,
# which the library loads on first use (src/dsp/fftw.c, src/audio/resample.c: no program links
# them, so dpkg-shlibdeps does not see them), and adduser (postinst's way to
# the user where systemd-sysusers is missing or fails); libsox3 is recommended: DNSMOS reference
# mode loads it at run time to resample legs as SoX does (src/audio/sox_rate.c), and without it
# only that mode's legs not at 16 kHz go unscored.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME callqa)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${CQ_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "call-recording analysis engine and QA service")
string(CONCAT CPACK_DEBIAN_PACKAGE_DESCRIPTION
       "callqa analyses call recordings (levels, silences, speech activity, speech\n"
       "quality, call events, the conversation), and runs a QA service for dialers:\n"
       "an HTTP API and dashboard (callqa serve), a worker that analyses, transcribes\n"
       "and scores calls (callqa worker), and ingests of ViciDial and of folders\n"
       "(callqa ingest), as systemd units running as the user callqa.")
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Debian's revision 1: a package of the upstream version (changelog.Debian.gz, not a native one)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, libsndfile1, libfftw3-single3, libsoxr0")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libsox3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/deb/conffiles ${CMAKE_SOURCE_DIR}/deploy/deb/postinst
    ${CMAKE_SOURCE_DIR}/deploy/deb/prerm ${CMAKE_SOURCE_DIR}/deploy/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_INSTALL_SCRIPTS ${CMAKE_SOURCE_DIR}/cmake/deb_changelog.cmake)
set(CPACK_CQ_SOURCE_DIR ${CMAKE_SOURCE_DIR})
include(CPack)
