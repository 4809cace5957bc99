using Ferry.Broker.Transactions;

namespace Ferry.Kafka.Handlers;

/// <summary>The transaction coordinator's answers as Kafka error codes.</summary>
internal static class TransactionErrors
{
    public static short ToErrorCode(TransactionError error) => error switch
    {
        TransactionError.None => ErrorCodes.None,
        TransactionError.InvalidTransactionTimeout => ErrorCodes.InvalidTransactionTimeout,
        TransactionError.ConcurrentTransactions => ErrorCodes.ConcurrentTransactions,
        TransactionError.ProducerFenced => ErrorCodes.ProducerFenced,
        TransactionError.InvalidProducerIdMapping => ErrorCodes.InvalidProducerIdMapping,
        TransactionError.InvalidTxnState => ErrorCodes.InvalidTxnState,
        TransactionError.UnknownTopicOrPartition => ErrorCodes.UnknownTopicOrPartition,
        TransactionError.OperationNotAttempted => ErrorCodes.OperationNotAttempted,
        TransactionError.CoordinatorNotAvailable => ErrorCodes.CoordinatorNotAvailable,
        TransactionError.NotCoordinator => ErrorCodes.NotCoordinator,
        TransactionError.CoordinatorLoadInProgress => ErrorCodes.CoordinatorLoadInProgress,
        TransactionError.TransactionalIdNotFound => ErrorCodes.TransactionalIdNotFound,
        _ => ErrorCodes.UnknownServerError,
    };
}
