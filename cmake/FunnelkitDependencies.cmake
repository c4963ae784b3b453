# Locates the header-only dependencies and exposes them as imported targets:
#   funnelkit::eigen, funnelkit::boost, funnelkit::nlohmann_json
# First choice: the PyPI wheels installed beside the build's Python (so `pip install .` needs
# nothing else); fallback: system headers (Debian: libeigen3-dev, libboost-graph-dev,
# nlohmann-json3-dev). Nothing is ever downloaded. Headers are marked SYSTEM so that their
# warnings do not trip our -Werror.

find_package(Python COMPONENTS Interpreter)

set(_fk_pypi_eigen "")
set(_fk_pypi_boost "")
set(_fk_pypi_nlohmann_json "")
if(Python_Interpreter_FOUND)
  execute_process(
    COMMAND "${Python_EXECUTABLE}" "${CMAKE_CURRENT_LIST_DIR}/find_header_packages.py"
    OUTPUT_VARIABLE _fk_found
    RESULT_VARIABLE _fk_result
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_fk_result EQUAL 0)
    string(REPLACE "\n" ";" _fk_lines "${_fk_found}")
    foreach(_line IN LISTS _fk_lines)
      if(_line MATCHES "^([a-z_]+)=(.*)$")
        set(_fk_pypi_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
      endif()
    endforeach()
  endif()
endif()

# funnelkit_header_target(<name> <probe header> <pypi dir> <system hints...>)
function(funnelkit_header_target name probe pypi_dir)
  set(_dir "")
  if(pypi_dir AND EXISTS "${pypi_dir}/${probe}")
    set(_dir "${pypi_dir}")
    set(_origin "PyPI wheel")
  else()
    find_path(_fk_${name}_dir NAMES "${probe}" HINTS ${ARGN})
    if(_fk_${name}_dir)
      set(_dir "${_fk_${name}_dir}")
      set(_origin "system")
    endif()
  endif()
  if(NOT _dir)
    message(FATAL_ERROR
      "funnelkit: cannot find ${probe}. Install the PyPI build requirements "
      "(pip install cmeel-eigen boost-headers nlohmann-json) or the Debian packages "
      "(apt-get install libeigen3-dev libboost-graph-dev nlohmann-json3-dev).")
  endif()
  message(STATUS "funnelkit: ${name} headers from ${_origin}: ${_dir}")
  add_library(funnelkit_dep_${name} INTERFACE IMPORTED GLOBAL)
  target_include_directories(funnelkit_dep_${name} SYSTEM INTERFACE "${_dir}")
  add_library(funnelkit::${name} ALIAS funnelkit_dep_${name})
endfunction()

funnelkit_header_target(eigen "Eigen/Sparse" "${_fk_pypi_eigen}" /usr/include/eigen3)
funnelkit_header_target(boost "boost/graph/adjacency_list.hpp" "${_fk_pypi_boost}" /usr/include)
funnelkit_header_target(nlohmann_json "nlohmann/json.hpp" "${_fk_pypi_nlohmann_json}" /usr/include)
