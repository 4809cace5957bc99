using System.Security.Cryptography.X509Certificates;
using Ferry.Broker.Security;

namespace Ferry.Peers;

/// <summary>
/// What a node presents and checks on its Kafka links to peers: the cluster's <see cref="PeerPrincipal"/> for SASL, and
/// which server certificates it accepts on TLS listeners (<paramref name="TrustsCertificate"/>; null when this node
/// has no TLS settings, and then only a certificate the system trusts).
/// </summary>
internal sealed record PeerCredentials(PeerPrincipal Principal, Func<X509Certificate, bool>? TrustsCertificate);
