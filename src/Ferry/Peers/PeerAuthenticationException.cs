namespace Ferry.Peers;

/// <summary>
/// A peer link failed TLS or SASL, or the peer failed to prove the cluster secret: an <see cref="IOException"/>, so the
/// callers treat it as a broken connection and the next request tries again.
/// </summary>
internal sealed class PeerAuthenticationException(string message) : IOException("Peer authentication failed: " + message);
