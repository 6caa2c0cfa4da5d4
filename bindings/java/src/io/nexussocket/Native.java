package io.nexussocket;

/**
 * Loads the JNI library {@code libnexus_socket_java.so} once, from {@code java.library.path}
 * (System.loadLibrary); it finds {@code libnexus-socket.so} through its rpath or the system's.
 */
final class Native {
    private static boolean loaded;

    private Native() {}

    static synchronized void load() {
        if (!loaded) {
            System.loadLibrary("nexus_socket_java");
            loaded = true;
        }
    }
}
