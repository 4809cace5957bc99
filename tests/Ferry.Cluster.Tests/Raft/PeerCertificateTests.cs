using System.Text;
using Ferry.Cluster.Raft;

namespace Ferry.Cluster.Tests.Raft;

public sealed class PeerCertificateTests
{
    [Fact]
    public void OnlyACertificateMadeWithTheClusterSecretIsAPeer()
    {
        var secret = Encoding.UTF8.GetBytes("the cluster's secret");
        using var ours = PeerCertificate.Create(secret, 1);
        using var theirs = PeerCertificate.Create(Encoding.UTF8.GetBytes("another secret"), 1);
        Assert.True(PeerCertificate.IsPeer(ours, secret));
        Assert.False(PeerCertificate.IsPeer(theirs, secret));
        Assert.False(PeerCertificate.IsPeer(null, secret));
    }
}
