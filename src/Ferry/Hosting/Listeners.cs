using Ferry.Amqp;
using Ferry.Configuration;
using Ferry.Hosting.Tls;
using Ferry.Kafka;
using Ferry.Kafka.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Ferry.Hosting;

/// <summary>
/// Binds every listener of the three kinds. A TLS listener runs Kestrel's TLS connection middleware in front of
/// its connection handler, so Kafka and AMQP get TLS exactly as HTTP does; a Kafka listener also tells the
/// handler its security protocol.
/// </summary>
internal static class Listeners
{
    public sealed record Set(IReadOnlyList<ListenerAddress> Kafka, IReadOnlyList<ListenerAddress> Amqp, IReadOnlyList<ListenerAddress> Http)
    {
        public bool AnyTls => Kafka.Concat(Amqp).Concat(Http).Any(l => l.Tls);
    }

    public static Set Parse(ListenerOptions options) => new(
        ListenerAddress.ParseList(options.Kafka, "Listeners:Kafka", ListenerAddress.KafkaSchemes),
        ListenerAddress.ParseList(options.Amqp, "Listeners:Amqp", ListenerAddress.AmqpSchemes),
        ListenerAddress.ParseList(options.Http, "Listeners:Http", ListenerAddress.HttpSchemes));

    public static void Bind(KestrelServerOptions kestrel, Set listeners, TimeSpan handshakeTimeout, ConnectionCap cap, int maxConnectionsPerAddress = 0)
    {
        // One limiter per kind of port, shared by its listeners; ahead of TLS, so refused sockets cost no handshake.
        ILogger? logger = null;
        ILogger Logger() => logger ??= kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Ferry.Hosting.ConnectionLimiter");
        ConnectionLimiter? Limiter(string kind) => maxConnectionsPerAddress > 0 ? new ConnectionLimiter(kind, maxConnectionsPerAddress, Logger) : null;
        var httpLimit = Limiter("HTTP");
        var kafkaLimit = Limiter("Kafka");
        var amqpLimit = Limiter("AMQP");
        // The process's cap first of all: a refused socket costs nothing more than its accept.
        foreach (var http in listeners.Http)
        {
            kestrel.Listen(http.EndPoint, listener =>
            {
                cap.Use(listener);
                httpLimit?.Use(listener);
                if (http.Tls) UseTls(kestrel, listener, handshakeTimeout, requireClientCertificate: false);
            });
        }
        foreach (var kafka in listeners.Kafka)
        {
            var feature = KafkaListenerFeature.FromName(kafka.Scheme);
            kestrel.Listen(kafka.EndPoint, listener =>
            {
                cap.Use(listener);
                kafkaLimit?.Use(listener);
                // SSL without SASL: the client certificate is the authentication, so one is required when a CA is set.
                if (kafka.Tls) UseTls(kestrel, listener, handshakeTimeout, requireClientCertificate: !kafka.Sasl);
                listener.Use(next => connection =>
                {
                    connection.Features.Set(feature);
                    return next(connection);
                });
                listener.UseConnectionHandler<KafkaConnectionHandler>();
            });
        }
        foreach (var amqp in listeners.Amqp)
        {
            kestrel.Listen(amqp.EndPoint, listener =>
            {
                cap.Use(listener);
                amqpLimit?.Use(listener);
                if (amqp.Tls) UseTls(kestrel, listener, handshakeTimeout, requireClientCertificate: true);
                listener.UseConnectionHandler<AmqpConnectionHandler>();
            });
        }
    }

    private static void UseTls(KestrelServerOptions kestrel, ListenOptions listener, TimeSpan handshakeTimeout, bool requireClientCertificate)
    {
        // Resolved at the first handshake: the container exists by then, and it validated the files at start.
        TlsCertificates? certificates = null;
        listener.UseHttps(new TlsHandshakeCallbackOptions
        {
            HandshakeTimeout = handshakeTimeout,
            OnConnection = _ =>
            {
                certificates ??= kestrel.ApplicationServices.GetRequiredService<TlsCertificates>();
                return ValueTask.FromResult(certificates.ServerOptions(requireClientCertificate));
            },
        });
    }
}
