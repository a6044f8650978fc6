// Boost.Process v2 (1.81) is compiled here, once, for the whole library.
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
#include <boost/process/v2/src.hpp>
