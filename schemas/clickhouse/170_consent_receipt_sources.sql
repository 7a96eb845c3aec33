-- Consent receipts name the consent banner (CMP) signal a choice was read from, and for IAB TCF the CMP and policy
-- version of the TC data it came with: proof of how consent was obtained. Never the TC string, never a vendor list.
ALTER TABLE analytics.consent_receipts MODIFY COLUMN source Enum8('banner' = 1, 'api' = 2, 'gpc' = 3, 'dnt' = 4, 'gcm' = 5, 'tcf' = 6, 'klaro' = 7, 'cookieconsent' = 8)
        COMMENT 'Where the choice came from: gcm, tcf, klaro or cookieconsent (the site consent banner signal, read by the tracker), api (pa.consent() or a server call; banner on receipts written before the sources were recorded), gpc or dnt (a browser signal) | Proves how consent was obtained or refused | all',
    ADD COLUMN IF NOT EXISTS cmp_id UInt16 COMMENT 'TCF only: the registered id of the consent management platform that collected the choice, 0 otherwise | Proves which banner obtained consent | all',
    ADD COLUMN IF NOT EXISTS cmp_version UInt16 COMMENT 'TCF only: the version of that consent management platform, 0 otherwise | Proves which banner version obtained consent | all',
    ADD COLUMN IF NOT EXISTS tcf_policy_version UInt8 COMMENT 'TCF only: the TCF policy version of the consent data (4 for TCF v2.2), 0 otherwise | Proves under which framework rules consent was obtained | all'
