// The site's CookieConsent configuration: an `analytics` category next to the necessary one.
CookieConsent.run({
  hideFromBots: false,  // the browser under test is automated; a real visitor's is not
  categories: {necessary: {enabled: true, readOnly: true}, analytics: {}},
  language: {default: 'en', translations: {en: {
    consentModal: {title: 'Cookies', description: 'Analytics?', acceptAllBtn: 'Accept all', acceptNecessaryBtn: 'Reject all'},
    preferencesModal: {title: 'Preferences', acceptAllBtn: 'Accept all', acceptNecessaryBtn: 'Reject all',
                       savePreferencesBtn: 'Save', sections: []},
  }}},
});
