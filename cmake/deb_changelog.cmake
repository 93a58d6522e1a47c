# deb_changelog.cmake - run by cpack (CPACK_INSTALL_SCRIPTS, cmake/install.cmake) into the
# package's tree: /usr/share/doc/callqa/changelog.Debian.gz, deploy/deb/changelog at the
# package's version (a version given to cpack with -D CPACK_PACKAGE_VERSION=... included), dated
# now or at $SOURCE_DATE_EPOCH, compressed as Debian wants it (gzip -9n).
set(_ver "${CPACK_PACKAGE_VERSION}")
if(CPACK_DEBIAN_PACKAGE_RELEASE)
  string(APPEND _ver "-${CPACK_DEBIAN_PACKAGE_RELEASE}")
endif()
string(TIMESTAMP _date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(READ "${CPACK_CQ_SOURCE_DIR}/deploy/deb/changelog" _text)
string(REPLACE "@VERSION@" "${_ver}" _text "${_text}")
string(REPLACE "@DATE@" "${_date}" _text "${_text}")
set(_dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/share/doc/callqa")
file(MAKE_DIRECTORY "${_dir}")
file(WRITE "${_dir}/changelog.Debian" "${_text}")
execute_process(COMMAND gzip -9nf "${_dir}/changelog.Debian" RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "gzip ${_dir}/changelog.Debian failed")
endif()
