"""The local product loop (`make run`): the AWS topology on one machine.

An embedded S3/SQS endpoint (moto's server mode, :mod:`.endpoint`) whose state is mirrored
under ``data/`` (:mod:`.persistence`), a bucket that notifies a queue for every new raw chunk
(:mod:`.queue`), a worker that drains the queue into the same Lambda handler the cloud runs
(:mod:`.worker`), a bundled demo site on loopback (:mod:`.demo`) and the command that ties them
together (:mod:`.run`)."""
