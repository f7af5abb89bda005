import Foundation

extension S3Endpoint {
    /// The endpoint of a configured S3 backup store: path-style addressing (moto, MinIO, Ceph and
    /// AWS alike accept it) and the default timeouts.
    package init(_ store: S3StoreTarget) {
        self.init(
            url: store.endpoint, region: store.region, bucket: store.bucket, prefix: store.prefix,
            accessKeyID: store.accessKeyID, secretAccessKey: store.secretAccessKey, secretSource: store.secretSource)
    }
}

/// `config check`'s probe of an S3 backup store through `S3Client`: HeadBucket (which a 403
/// turns into a listing, to learn whether the secret, the key or a policy is wrong), then one key
/// under the prefix. Plugged in as `ConfigCheck.s3Probe`.
package struct S3ClientProbe: S3Probe {
    package init() {}

    package func probe(_ store: S3StoreTarget, connections: Connections) throws -> String {
        let endpoint = S3Endpoint(store)
        try endpoint.validate()
        let client = S3Client(endpoint: endpoint, http: connections.transport, interrupt: connections.context.interrupt)
        try client.checkBucket()
        let page = try client.listPage(maxKeys: 1)
        let place = endpoint.prefix.isEmpty ? "the bucket" : endpoint.prefix
        return "bucket \(endpoint.bucket) answers to access key \(endpoint.accessKeyID); \(place) "
            + (page.objects.isEmpty && page.commonPrefixes.isEmpty ? "is empty" : "holds objects")
    }
}
