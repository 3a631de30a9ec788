package corebert.train;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A cluster must sit on loopback or a private network: TF's gRPC runtime has no authentication. */
class ClusterNetworkTest {
  @Test
  void privateAndLoopbackAddressesAreTrusted() throws Exception {
    for (String a :
        List.of(
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "172.31.255.1",
            "192.168.4.4",
            "::1",
            "fd12:3456::1",
            "fe80::1",
            "169.254.1.1")) {
      assertTrue(Cluster.isPrivate(InetAddress.getByName(a)), a);
    }
  }

  @Test
  void publicAddressesAreNot() throws Exception {
    for (String a :
        List.of("8.8.8.8", "172.32.0.1", "192.0.2.1", "11.0.0.1", "2001:db8::1", "100.64.0.1")) {
      assertFalse(Cluster.isPrivate(InetAddress.getByName(a)), a);
    }
  }

  @Test
  void aClusterWithOnePublicWorkerIsRefusedNamingIt() {
    Cluster mixed = new Cluster(List.of("localhost:2222", "10.0.0.2:2222", "8.8.8.8:2222"), 0, 1);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, mixed::requireTrustedNetwork);
    assertTrue(e.getMessage().startsWith("cluster worker 8.8.8.8:2222 (8.8.8.8)"), e.getMessage());
    assertTrue(e.getMessage().contains("allow public addresses only if it is one"), e.getMessage());
    Cluster local = new Cluster(List.of("localhost:2222", "10.0.0.2:2223"), 1, 1);
    assertDoesNotThrow(local::requireTrustedNetwork);
    assertEquals(1, local.task());
  }
}
