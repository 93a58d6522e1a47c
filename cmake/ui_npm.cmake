# ui_npm.cmake - the dashboard's npm packages, installed by `npm ci` from ui/package-lock.json
# only when the lockfile changed since the last install (or ui/node_modules is gone). The
# lockfile's SHA-256 is kept in ui/node_modules/.callqa-lock (so that several build directories
# share one install) and in STAMP, in the build directory, which is rewritten only when it
# changes: the dashboard's build depends on it. The tests' npm packages (tests/scoring/vader/: the
# reference VADER) are installed the same way, with NAME naming them in the messages.
#   cmake -DUI=SOURCE/ui -DNPM=npm -DSTAMP=BUILD/ui-npm.stamp [-DNAME=ui] -P ui_npm.cmake
if(NOT NAME)
  set(NAME ui)
endif()
file(SHA256 "${UI}/package-lock.json" want)
set(marker "${UI}/node_modules/.callqa-lock")
# one install at a time, whichever build directory asks
file(LOCK "${UI}/.npm-ci.lock" GUARD PROCESS TIMEOUT 600 RESULT_VARIABLE locked)
set(have "")
if(EXISTS "${marker}")
  file(READ "${marker}" have)
endif()
if(NOT have STREQUAL want)
  message(STATUS "${NAME}: npm ci (its package-lock.json changed, or its node_modules is missing)")
  execute_process(COMMAND "${NPM}" ci --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY "${UI}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NAME}: npm ci failed (${rc}): its packages could not be "
                        "installed (the npm registry must be reachable once; or configure with "
                        "-DCQ_DASHBOARD=OFF)")
  endif()
  file(WRITE "${marker}" "${want}")
endif()
file(LOCK "${UI}/.npm-ci.lock" RELEASE)
set(old "")
if(EXISTS "${STAMP}")
  file(READ "${STAMP}" old)
endif()
if(NOT old STREQUAL want)
  file(WRITE "${STAMP}" "${want}")
endif()
