namespace Ferry.Broker.Transactions;

/// <summary>What the transaction coordinator answers; the Kafka layer maps each to Kafka's error code.</summary>
public enum TransactionError
{
    None,
    /// <summary>transaction.timeout.ms is not positive or over transaction.max.timeout.ms.</summary>
    InvalidTransactionTimeout,
    /// <summary>The previous transaction is still being completed (markers being written): retry.</summary>
    ConcurrentTransactions,
    /// <summary>A newer producer with the same transactional id has the epoch (a zombie).</summary>
    ProducerFenced,
    /// <summary>The producer id does not belong to the transactional id, or the id is unknown.</summary>
    InvalidProducerIdMapping,
    /// <summary>The request does not fit the transaction's state (EndTxn with nothing begun, a partition not added).</summary>
    InvalidTxnState,
    UnknownTopicOrPartition,
    /// <summary>Another partition of the same request failed, so this one was not added.</summary>
    OperationNotAttempted,
    /// <summary>The transaction log could not be written; the client retries.</summary>
    CoordinatorNotAvailable,
    /// <summary>Another node coordinates this transactional id.</summary>
    NotCoordinator,
    /// <summary>This node just became the coordinator and is still reading the id's partition: retry.</summary>
    CoordinatorLoadInProgress,
    TransactionalIdNotFound,
}
