using Ferry.Amqp.Channels;
using Ferry.Amqp.Connections;
using Ferry.Broker.Connections;
using Ferry.Broker.Queues;
using Ferry.Broker.Resources;
using Ferry.Broker.Security;
using Ferry.Broker.Security.Permissions;
using Ferry.Broker.VirtualHosts;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ferry.Amqp;

/// <summary>Kestrel's entry point for AMQP 0-9-1 connections: <c>l.UseConnectionHandler&lt;AmqpConnectionHandler&gt;()</c>.</summary>
public sealed class AmqpConnectionHandler(QueueBroker broker, ResourceAlarm alarm, ConnectionRegistry connections, DirectReplyTo replies, IOptions<AmqpOptions> options,
    ILogger<AmqpConnectionHandler> logger, IUserStore? users = null, VirtualHostRegistry? vhosts = null, AmqpAuthorizer? authorizer = null)
    : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        // Serve only once durable queues are loaded (the architecture's "ready before accepting").
        await broker.Loaded.ConfigureAwait(false);
        var client = connections.Register(connection.ConnectionId, "amqp", connection.RemoteEndPoint, connection.LocalEndPoint);
        try
        {
            using var amqp = new AmqpConnection(connection, broker, alarm, replies, options.Value, logger, client, users, vhosts, authorizer);
            await amqp.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            connections.Unregister(client);
        }
    }
}
