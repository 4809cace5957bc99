namespace Ferry.Hosting.Tls;

/// <summary>Makes the container load the TLS certificate while the host starts, before Kestrel binds.</summary>
internal sealed class TlsCertificateCheck(TlsCertificates certificates) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(certificates);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
