# find_package(crashloop): the installed crashloop, and crashloop_add_tests() to put its
# matrix into your own CTest suite, one test per cell, named like the table:
#
#   find_package(crashloop REQUIRED)
#   crashloop_add_tests(PREFIX myinit SUPERVISOR "systemctl:${MYINIT}"
#                       [RESTART on-failure,always] [CAUSE table]
#                       [LABELS …] [TIMEOUT seconds] [JOBS n] [ENVIRONMENT VAR=value …])
#
# makes myinit/matrix, which runs the whole selection once on the supervisor
# (a CTest fixture: the cells of one call share one supervisor run, as fast as
# one matrix), and one test per cell, myinit/on-failure/sigabrt …, which reads
# its verdict from that run's JSON report: it passes on pass and known
# deviation, fails on fail, error and unexpected pass with the verdict and the
# evidence as its output, and is skipped (not run) on n/a, the reason shown.
# The cells are those `crashloop list` prints for the selection: the table is
# never copied here.
#
#   crashloop_EXECUTABLE      the installed crashloop
#   crashloop_SCENARIOS_DIR   its scenarios (table, causes, expectations, the
#                             supervisors' exec files: supervisors/runit.toml …)
get_filename_component(_crashloop_prefix "${CMAKE_CURRENT_LIST_DIR}/@CRASHLOOP_PREFIX_FROM_CMAKEDIR@" ABSOLUTE)
set(crashloop_EXECUTABLE "${_crashloop_prefix}/@CMAKE_INSTALL_BINDIR@/crashloop")
set(crashloop_SCENARIOS_DIR "${_crashloop_prefix}/@CRASHLOOP_INSTALL_SCENARIOSDIR@")
set(_crashloop_run_matrix "${CMAKE_CURRENT_LIST_DIR}/crashloop_run_matrix.cmake")
set(crashloop_VERSION "@PROJECT_VERSION@")
if(NOT EXISTS "${crashloop_EXECUTABLE}")
  set(crashloop_FOUND FALSE)
  set(crashloop_NOT_FOUND_MESSAGE "no crashloop at ${crashloop_EXECUTABLE}")
  return()
endif()

function(crashloop_add_tests)
  cmake_parse_arguments(ARG "" "PREFIX;SUPERVISOR;TIMEOUT;JOBS;RESTART;CAUSE"
                        "LABELS;ENVIRONMENT" ${ARGN})
  if(NOT ARG_PREFIX OR NOT ARG_SUPERVISOR)
    message(FATAL_ERROR "crashloop_add_tests: PREFIX and SUPERVISOR are required")
  endif()
  if(NOT ARG_RESTART)
    set(ARG_RESTART all)
  endif()
  if(NOT ARG_CAUSE)
    set(ARG_CAUSE all)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  execute_process(
    COMMAND "${crashloop_EXECUTABLE}" list --restart "${ARG_RESTART}" --cause "${ARG_CAUSE}"
    OUTPUT_VARIABLE cells ERROR_VARIABLE error RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "crashloop_add_tests(${ARG_PREFIX}): crashloop list: ${error}")
  endif()
  set(report "${CMAKE_CURRENT_BINARY_DIR}/crashloop-${ARG_PREFIX}.json")
  set(matrix_args matrix --supervisor "${ARG_SUPERVISOR}" --restart "${ARG_RESTART}"
                  --cause "${ARG_CAUSE}")
  if(ARG_JOBS)
    list(APPEND matrix_args --jobs "${ARG_JOBS}")
  endif()
  add_test(NAME "${ARG_PREFIX}/matrix"
           COMMAND "${CMAKE_COMMAND}" "-DCRASHLOOP=${crashloop_EXECUTABLE}" "-DREPORT=${report}"
                   "-DARGS=${matrix_args}" -P "${_crashloop_run_matrix}")
  set_tests_properties("${ARG_PREFIX}/matrix" PROPERTIES
    FIXTURES_SETUP "crashloop_${ARG_PREFIX}" TIMEOUT "${ARG_TIMEOUT}"
    LABELS "crashloop;${ARG_LABELS}")
  if(ARG_ENVIRONMENT)
    set_tests_properties("${ARG_PREFIX}/matrix" PROPERTIES ENVIRONMENT "${ARG_ENVIRONMENT}")
  endif()
  string(REPLACE "\n" ";" lines "${cells}")
  foreach(line IN LISTS lines)
    if(line STREQUAL "")
      continue()
    endif()
    string(REGEX REPLACE "\t.*" "" cell "${line}")
    add_test(NAME "${ARG_PREFIX}/${cell}"
             COMMAND "${crashloop_EXECUTABLE}" cell --report "${report}" "${cell}")
    set_tests_properties("${ARG_PREFIX}/${cell}" PROPERTIES
      FIXTURES_REQUIRED "crashloop_${ARG_PREFIX}" SKIP_RETURN_CODE 77 TIMEOUT 30
      LABELS "crashloop;${ARG_LABELS}")
  endforeach()
endfunction()
