using System.Security.Cryptography.X509Certificates;
using Ferry.Broker.Security;

namespace Ferry.Peers;

/// <summary>
/// What a node presents and checks on its Kafka links to peers: the cluster's <see cref="PeerPrincipal"/> for SASL,
/// which server certificates it accepts on TLS listeners (<paramref name="TrustsCertificate"/>) and its own
/// certificate for listeners that ask for a client's (<paramref name="ClientCertificate"/>); both null when this node
/// has no TLS settings, and then only a certificate the system trusts is accepted and none is presented.
/// </summary>
internal sealed record PeerCredentials(PeerPrincipal Principal, Func<X509Certificate, bool>? TrustsCertificate, Func<X509Certificate2>? ClientCertificate);
