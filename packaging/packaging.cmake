# Packaging (docs/packaging.md): included by the top-level CMakeLists.txt.
#
# The install rules of the targets live beside them (capi/, tools/,
# bindings/php/, bindings/go/, bindings/java/); this file adds what belongs
# to packages rather than to one target: the pkg-config and CMake package
# files, the man page, the systemd unit, the per-package copyright and
# changelog, the Debian control files, and the CPack description from which
# `make package` makes both the .deb and the .rpm packages.
#
# One CPack component is one package, with the same name in both formats:
#
#   component  package                  contents
#   lib        libnexus-socket1         libnexus-socket.so.1 (+ symbols file)
#   dev        libnexus-socket-dev      socket.h, the .so link, nexus-socket.pc, CMake files
#   php        php-nexus-socket         the extension, its ini, the PHP library, `nexus`
#   tools      nexus-socket-tools       `nexus-socket`, its man page, systemd unit, env file
#   go         golang-nexus-socket-dev  the Go module as source (+ SWIG's output)
#   java       libnexus-socket-java     the jar (architecture all)
#   jni        libnexus-socket-jni      the JNI library libnexus_socket_java.so
#
# A new language binding adds a component here (see "Adding a package" in
# docs/packaging.md): its install rules with COMPONENT <name>, an entry in
# nx_package(), and the name in NX_PACKAGE_COMPONENTS.

set(nx_pkg_src ${PROJECT_SOURCE_DIR}/packaging)
set(nx_pkg_bin ${PROJECT_BINARY_DIR}/packaging)
get_target_property(NX_SOVERSION nexus_socket SOVERSION)
set(NX_PACKAGE_RELEASE 1 CACHE STRING "Debian revision / RPM release of the packages")
set(NX_PACKAGE_MAINTAINER "nexus-socket developers <dev@nexus-socket.invalid>"
  CACHE STRING "Maintainer field of the packages")
set(nx_full_version ${PROJECT_VERSION}-${NX_PACKAGE_RELEASE})

# --- libnexus-socket-dev: pkg-config and CMake package files -----------------
include(CMakePackageConfigHelpers)
configure_file(${nx_pkg_src}/nexus-socket.pc.in ${nx_pkg_bin}/nexus-socket.pc @ONLY)
install(FILES ${nx_pkg_bin}/nexus-socket.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
configure_package_config_file(${nx_pkg_src}/cmake/NexusSocketConfig.cmake.in
  ${nx_pkg_bin}/NexusSocketConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/NexusSocket)
write_basic_package_version_file(${nx_pkg_bin}/NexusSocketConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${nx_pkg_bin}/NexusSocketConfig.cmake ${nx_pkg_bin}/NexusSocketConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/NexusSocket COMPONENT dev)

# --- nexus-socket-tools: man page, systemd unit, settings ----------------------
# Man pages and changelogs go in gzip -9n (no name, no time: reproducible).
find_program(NX_GZIP gzip REQUIRED)
add_custom_command(OUTPUT ${nx_pkg_bin}/nexus-socket.1.gz
  COMMAND ${NX_GZIP} -9nc ${nx_pkg_src}/tools/nexus-socket.1 > ${nx_pkg_bin}/nexus-socket.1.gz
  DEPENDS ${nx_pkg_src}/tools/nexus-socket.1
  COMMENT "gzip: nexus-socket.1" VERBATIM)
add_custom_command(OUTPUT ${nx_pkg_bin}/changelog.Debian.gz
  COMMAND ${NX_GZIP} -9nc ${nx_pkg_src}/debian/changelog > ${nx_pkg_bin}/changelog.Debian.gz
  DEPENDS ${nx_pkg_src}/debian/changelog
  COMMENT "gzip: changelog.Debian" VERBATIM)
add_custom_command(OUTPUT ${nx_pkg_bin}/nexus.1.gz
  COMMAND ${NX_GZIP} -9nc ${nx_pkg_src}/php/nexus.1 > ${nx_pkg_bin}/nexus.1.gz
  DEPENDS ${nx_pkg_src}/php/nexus.1
  COMMENT "gzip: nexus.1" VERBATIM)
add_custom_target(nx_package_files ALL
  DEPENDS ${nx_pkg_bin}/nexus-socket.1.gz ${nx_pkg_bin}/nexus.1.gz ${nx_pkg_bin}/changelog.Debian.gz)
install(FILES ${nx_pkg_bin}/nexus-socket.1.gz
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)
# Debian 12's systemd looks in /lib/systemd/system (lintian insists on it).
install(FILES ${nx_pkg_src}/tools/nexus-socket.service
  DESTINATION /lib/systemd/system COMPONENT tools)
install(FILES ${nx_pkg_src}/tools/env
  DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/nexus-socket COMPONENT tools)

# --- Every package: names, descriptions, documents -----------------------------
set(NX_PACKAGE_COMPONENTS lib dev tools)
if(TARGET nexus_socket_php)
  list(APPEND NX_PACKAGE_COMPONENTS php)
  execute_process(COMMAND ${NX_PHP_CONFIG} --phpapi
    OUTPUT_VARIABLE nx_phpapi OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
if(TARGET nexus_socket_go_wrap)
  list(APPEND NX_PACKAGE_COMPONENTS go)
endif()
if(TARGET nexus_socket_jar)
  list(APPEND NX_PACKAGE_COMPONENTS java jni)
endif()

# nx_package(COMPONENT NAME SECTION SUMMARY DESCRIPTION): the package of a
# component, its /usr/share/doc/NAME/{copyright,changelog.Debian.gz}.
macro(nx_package component name section summary description)
  string(TOUPPER ${component} nx_c)
  set(CPACK_DEBIAN_${nx_c}_PACKAGE_NAME ${name})
  set(CPACK_RPM_${nx_c}_PACKAGE_NAME ${name})
  set(CPACK_DEBIAN_${nx_c}_PACKAGE_SECTION ${section})
  set(CPACK_COMPONENT_${nx_c}_DISPLAY_NAME "${name}")
  set(CPACK_COMPONENT_${nx_c}_DESCRIPTION "${summary}\n${description}")
  set(CPACK_RPM_${nx_c}_PACKAGE_SUMMARY "${summary}")
  set(CPACK_RPM_${nx_c}_PACKAGE_DESCRIPTION "${description}")
  install(FILES ${nx_pkg_src}/debian/copyright ${nx_pkg_bin}/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${name} COMPONENT ${component})
endmacro()

# Descriptions: the first line is the summary; the rest is wrapped by hand
# (dpkg shows it as it is; lintian wants lines under 80 columns).
set(nx_about "nexus-socket is a WebSocket (RFC 6455, permessage-deflate) and TCP, TLS
and UDP socket library: a sans-I/O protocol core, event loops on Poco and
a stable C API.")
nx_package(lib libnexus-socket1 libs
  "WebSocket and socket library - shared library"
  "${nx_about}

This package contains the shared library libnexus-socket.so.1, which
implements the C API of <nexus/socket.h>: WebSocket servers and clients,
plain and TLS sockets, with events pulled by the caller.")
nx_package(dev libnexus-socket-dev libdevel
  "WebSocket and socket library - development files"
  "${nx_about}

This package contains what is needed to build programs against the
library: the header <nexus/socket.h>, the libnexus-socket.so link, the
pkg-config file nexus-socket.pc and the CMake package NexusSocket
(find_package(NexusSocket) gives the target NexusSocket::nexus-socket).")
nx_package(tools nexus-socket-tools net
  "WebSocket chat and echo servers, client and load generator"
  "${nx_about}

This package contains the nexus-socket command: a chat server with its
browser page (serve), an echo server (echo), an interactive client
(connect) and a load generator (bench). A systemd unit runs the chat
server as an unprivileged user with the settings of /etc/nexus-socket/env;
it is not enabled on installation.")
if(TARGET nexus_socket_php)
  install(FILES ${nx_pkg_bin}/nexus.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT php)
  nx_package(php php-nexus-socket php
    "WebSocket and socket library - PHP extension and library"
    "${nx_about}

This package contains the PHP ${NX_PHP_VERSION} extension nexus_socket (enabled
for every SAPI with phpenmod), the PHP library over it (the classes
WebSocket, WebSocketClient, Socket and SocketServer; require
'NexusSocket/bootstrap.php') and the nexus command, whose
websocket:serve runs the chat server.")
endif()
if(TARGET nexus_socket_go_wrap)
  install(FILES ${nx_pkg_src}/go/README.Debian
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/golang-nexus-socket-dev COMPONENT go)
  nx_package(go golang-nexus-socket-dev golang
    "WebSocket and socket library - Go package"
    "${nx_about}

This package contains the Go module nexus-socket/nexus as source, in
/usr/share/gocode/src/nexus-socket/nexus: a WebSocket server with
handlers, a WebSocket client, TCP, TLS and UDP sockets. cgo builds it
against libnexus-socket-dev; SWIG's output is included, so go build needs
no SWIG. It needs Go 1.24 or newer and a C compiler; README.Debian says
how a module uses it.")
endif()
if(TARGET nexus_socket_jar)
  nx_package(java libnexus-socket-java java
    "WebSocket and socket library - Java library"
    "${nx_about}

This package contains the Java library io.nexussocket (Java 17 or newer):
a WebSocket server with listeners, a WebSocket client, TCP, TLS and UDP
sockets. Its classpath is /usr/share/java/nexus-socket.jar; the native
part comes with libnexus-socket-jni.")
  nx_package(jni libnexus-socket-jni java
    "WebSocket and socket library - Java native interface"
    "${nx_about}

This package contains the JNI library libnexus_socket_java.so, which the
Java library of libnexus-socket-java loads, in the jni directory that
Debian's Java runtimes search.")
endif()

# --- Debian control files --------------------------------------------------------
# The symbols file is committed and checked against every build by
# scripts/package (dpkg-gensymbols -c4): an exported symbol added or removed
# without updating it fails `make package`, and dpkg-shlibdeps of programs
# built against the library gets versioned dependencies from it.
set(nx_deb_lib_extra ${nx_pkg_bin}/debian/lib/symbols ${nx_pkg_bin}/debian/lib/shlibs
  ${nx_pkg_bin}/debian/lib/triggers)
configure_file(${nx_pkg_src}/debian/libnexus-socket1.shlibs ${nx_pkg_bin}/debian/lib/shlibs COPYONLY)
configure_file(${nx_pkg_src}/debian/libnexus-socket1.symbols ${nx_pkg_bin}/debian/lib/symbols COPYONLY)
configure_file(${nx_pkg_src}/debian/libnexus-socket1.triggers ${nx_pkg_bin}/debian/lib/triggers COPYONLY)
# dpkg-shlibdeps finds our own library for the packages that link it (the
# PHP extension) in a tree shaped like a package being built: the library
# under usr/lib/ARCH and the symbols file in DEBIAN/. The dependency on
# libnexus-socket1 then comes from the symbols file, like any other.
set(nx_shlibdeps_root ${nx_pkg_bin}/shlibdeps-root)
configure_file(${nx_pkg_src}/debian/libnexus-socket1.symbols ${nx_shlibdeps_root}/DEBIAN/symbols COPYONLY)
add_custom_target(nx_shlibdeps_root ALL
  COMMAND ${CMAKE_COMMAND} -E make_directory ${nx_shlibdeps_root}/${CMAKE_INSTALL_LIBDIR}
  COMMAND ${CMAKE_COMMAND} -E copy_if_different $<TARGET_FILE:nexus_socket>
          ${nx_shlibdeps_root}/${CMAKE_INSTALL_LIBDIR}/$<TARGET_SONAME_FILE_NAME:nexus_socket>
  DEPENDS nexus_socket VERBATIM)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${nx_shlibdeps_root}/${CMAKE_INSTALL_LIBDIR})
foreach(script postinst prerm postrm)
  configure_file(${nx_pkg_src}/debian/nexus-socket-tools.${script}
    ${nx_pkg_bin}/debian/tools/${script} COPYONLY)
endforeach()
configure_file(${nx_pkg_src}/debian/nexus-socket-tools.conffiles
  ${nx_pkg_bin}/debian/tools/conffiles COPYONLY)
if(TARGET nexus_socket_php)
  foreach(script postinst postrm conffiles)
    configure_file(${nx_pkg_src}/debian/php-nexus-socket.${script}.in
      ${nx_pkg_bin}/debian/php/${script} @ONLY)
  endforeach()
endif()

# --- CPack -------------------------------------------------------------------------
set(CPACK_PACKAGE_NAME nexus-socket)
set(CPACK_PACKAGE_VENDOR "nexus-socket developers")
set(CPACK_PACKAGE_CONTACT "${NX_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_GENERATOR DEB RPM)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL ${NX_PACKAGE_COMPONENTS})
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_RPM_COMPONENT_INSTALL ON)

# Debian: dependencies on libraries come from the binaries (dpkg-shlibdeps,
# also for libnexus-socket1, see above); the -dev package asks for its exact
# library, the PHP package for the PHP ABI and the CLI.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${NX_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${NX_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA ${nx_deb_lib_extra})
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libnexus-socket1 (= ${nx_full_version})")
set(CPACK_DEBIAN_TOOLS_PACKAGE_CONTROL_EXTRA
  ${nx_pkg_bin}/debian/tools/conffiles ${nx_pkg_bin}/debian/tools/postinst
  ${nx_pkg_bin}/debian/tools/prerm ${nx_pkg_bin}/debian/tools/postrm)
if(TARGET nexus_socket_php)
  # phpapi-YYYYMMDD: the PHP ABI the extension was built for (Debian's way,
  # as dh_php); php-cli for the `nexus` command.
  set(CPACK_DEBIAN_PHP_PACKAGE_DEPENDS
    "phpapi-${nx_phpapi}, php-cli, php-common")
  set(CPACK_DEBIAN_PHP_PACKAGE_CONTROL_EXTRA
    ${nx_pkg_bin}/debian/php/conffiles ${nx_pkg_bin}/debian/php/postinst
    ${nx_pkg_bin}/debian/php/postrm)
endif()
# Go: the wrapper in the package was generated from this version's header,
# hence the exact -dev; pkg-config for `#cgo pkg-config`. Architecture-bound
# (SWIG's output assumes a 64-bit Go int), so not `all`.
set(CPACK_DEBIAN_GO_PACKAGE_DEPENDS "libnexus-socket-dev (= ${nx_full_version}), pkg-config")
# Java: the jar is `all`; it needs the JNI library of its version and a Java
# 17 runtime. Debian's Java policy no longer asks libraries for the runtime
# (lintian: needless-dependency-on-jre, a warning); we ask for it so that
# installing the package gives something that runs. The JNI library's
# dependencies come from dpkg-shlibdeps (libnexus-socket1, libc6).
set(CPACK_DEBIAN_JAVA_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_JAVA_PACKAGE_DEPENDS
  "libnexus-socket-jni (= ${nx_full_version}), default-jre-headless (>= 2:1.17) | java17-runtime-headless")

# RPM: the same split and names; Requires/Provides of shared libraries from
# rpmbuild's own dependency generator. Built on Debian, the RPMs carry Debian's
# paths (/usr/lib/x86_64-linux-gnu, /usr/lib/php/API, /etc/php/VER): they
# install as they are only on a system with that layout (docs/packaging.md).
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE ${NX_PACKAGE_RELEASE})
set(CPACK_RPM_PACKAGE_LICENSE "Unspecified")
set(CPACK_RPM_PACKAGE_AUTOREQPROV ON)
# No /usr/lib/.build-id links: the file lists stay those of the .deb packages.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
set(CPACK_RPM_CHANGELOG_FILE ${nx_pkg_src}/rpm/changelog)
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
  /lib /lib/systemd /lib/systemd/system /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}
  ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_FULL_LIBDIR}/cmake
  /usr/share/man /usr/share/man/man1 /usr/share/php /usr/lib/php
  /etc/php /etc/php/${NX_PHP_VERSION} /etc/php/${NX_PHP_VERSION}/mods-available ${NX_PHP_EXTENSION_DIR}
  /usr/share/java /usr/share/gocode /usr/share/gocode/src)
set(CPACK_RPM_DEV_PACKAGE_REQUIRES "libnexus-socket1 = ${nx_full_version}")
set(CPACK_RPM_LIB_POST_INSTALL_SCRIPT_FILE ${nx_pkg_src}/rpm/ldconfig.sh)
set(CPACK_RPM_LIB_POST_UNINSTALL_SCRIPT_FILE ${nx_pkg_src}/rpm/ldconfig.sh)
set(CPACK_RPM_TOOLS_USER_FILELIST "%config(noreplace) ${CMAKE_INSTALL_FULL_SYSCONFDIR}/nexus-socket/env")
if(TARGET nexus_socket_php)
  set(CPACK_RPM_PHP_PACKAGE_REQUIRES "libnexus-socket1 >= ${PROJECT_VERSION}, php-cli")
  set(CPACK_RPM_PHP_USER_FILELIST
    "%config(noreplace) ${CMAKE_INSTALL_FULL_SYSCONFDIR}/php/${NX_PHP_VERSION}/mods-available/nexus_socket.ini")
  configure_file(${nx_pkg_src}/rpm/php-post.sh.in ${nx_pkg_bin}/rpm/php-post.sh @ONLY)
  configure_file(${nx_pkg_src}/rpm/php-preun.sh.in ${nx_pkg_bin}/rpm/php-preun.sh @ONLY)
  set(CPACK_RPM_PHP_POST_INSTALL_SCRIPT_FILE ${nx_pkg_bin}/rpm/php-post.sh)
  set(CPACK_RPM_PHP_PRE_UNINSTALL_SCRIPT_FILE ${nx_pkg_bin}/rpm/php-preun.sh)
endif()
set(CPACK_RPM_GO_PACKAGE_REQUIRES "libnexus-socket-dev = ${nx_full_version}, pkg-config")
# java-headless: what Fedora's OpenJDK packages provide (epoch 1).
set(CPACK_RPM_JAVA_PACKAGE_ARCHITECTURE noarch)
set(CPACK_RPM_JAVA_PACKAGE_REQUIRES "libnexus-socket-jni = ${nx_full_version}, java-headless >= 1:17")

include(CPack)

# --- ctest packaging.install ----------------------------------------------------------
# Only in build trees configured with -DNX_PACKAGING=ON (make package does
# that for build-pkg/): builds the packages of this tree and installs them into
# a fresh Debian 12 root (scripts/package-test). Needs root and the Debian mirror.
if(NX_PACKAGING)
  if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR "NX_PACKAGING needs -DCMAKE_INSTALL_PREFIX=/usr (got ${CMAKE_INSTALL_PREFIX})")
  endif()
  enable_testing()
  add_test(NAME packaging.install
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/package-test --build ${PROJECT_BINARY_DIR}
            --packages ${PROJECT_BINARY_DIR}/packages)
  set_tests_properties(packaging.install PROPERTIES TIMEOUT 1200 RUN_SERIAL ON)
endif()
