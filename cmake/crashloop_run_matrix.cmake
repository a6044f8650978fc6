# The fixture test of crashloop_add_tests(): one matrix run, its JSON report for the
# per-cell tests. It passes once a report is written, whatever the cells say (each cell's
# own test says that); it fails when crashloop could not run the matrix at all (bad input,
# exit 2; a supervisor that could not start, no report), with crashloop's message.
#   cmake -DCRASHLOOP=… -DREPORT=… -DARGS=matrix;--supervisor;… -P crashloop_run_matrix.cmake
file(REMOVE "${REPORT}") # never a stale report read as this run's
execute_process(COMMAND "${CRASHLOOP}" ${ARGS} --format json -o "${REPORT}"
                RESULT_VARIABLE status ERROR_VARIABLE errors)
if(NOT EXISTS "${REPORT}" OR status EQUAL 2)
  message(FATAL_ERROR "crashloop ${ARGS}: exit ${status}, no report:\n${errors}")
endif()
message(STATUS "crashloop ${ARGS}: exit ${status}, report ${REPORT}")
